from babel.numbers import format_currency
from django.shortcuts import get_object_or_404, render

from .models import Product


def product(request, slug):
    found = get_object_or_404(
        Product.objects.prefetch_related("categories", "images"), slug=slug, active=True
    )
    images = list(found.images.all())
    context = {
        "product": found,
        "shop_name": request.tenant.name,
        "price": format_currency(found.price / 100, "USD", locale="en_US"),
        "image": f"/media/{images[0].key}" if images else f"/p/{found.slug}/image.svg",
        "quantity_max": min(found.stock, 99),
        "categories": [c.name for c in found.categories.all()],
        "description": found.description,
    }
    return render(request, "catalog/product.html", context)
