from django.db import models


class Category(models.Model):
    name = models.CharField(max_length=200)


class Product(models.Model):
    sku = models.CharField(max_length=64)
    slug = models.SlugField(max_length=120, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField()
    price = models.IntegerField()  # cents
    stock = models.IntegerField()
    active = models.BooleanField(default=True)
    categories = models.ManyToManyField(Category, blank=True)


class Image(models.Model):
    product = models.ForeignKey(Product, related_name="images", on_delete=models.CASCADE)
    key = models.CharField(max_length=64)
    position = models.IntegerField(default=0)

    class Meta:
        ordering = ["position"]
