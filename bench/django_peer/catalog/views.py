import json

from babel.numbers import format_currency
from django.shortcuts import get_object_or_404, render
from django.utils.safestring import mark_safe

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
    # The head the platform's product page carries (canonical URL, description, Open
    # Graph and Twitter tags, schema.org Product and BreadcrumbList as JSON-LD).
    url = request.build_absolute_uri(request.path)
    home = request.build_absolute_uri("/")
    image_url = request.build_absolute_uri(context["image"])
    summary = " ".join(found.description.split())[:160]
    price = f"{found.price / 100:.2f}"
    stock = "InStock" if found.stock > 0 else "OutOfStock"
    offer = {"@type": "Offer", "price": price, "priceCurrency": "USD",
             "availability": f"https://schema.org/{stock}", "url": url}  # fmt: skip
    product_ld = {"@context": "https://schema.org", "@type": "Product", "name": found.title,
                  "sku": found.sku, "description": summary, "url": url, "offers": offer,
                  "image": [image_url]}  # fmt: skip
    crumbs = [{"@type": "ListItem", "position": 1, "name": context["shop_name"], "item": home},
              {"@type": "ListItem", "position": 2, "name": found.title, "item": url}]  # fmt: skip
    breadcrumbs_ld = {"@context": "https://schema.org", "@type": "BreadcrumbList",
                      "itemListElement": crumbs}  # fmt: skip
    context.update(
        url=url,
        image_url=image_url,
        summary=summary,
        product_ld=mark_safe(_ld(product_ld)),
        breadcrumbs_ld=mark_safe(_ld(breadcrumbs_ld)),
    )
    return render(request, "catalog/product.html", context)


def _ld(value: dict) -> str:
    """JSON for a <script> element: compact, with <, > and & escaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
