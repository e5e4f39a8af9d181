from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "bench.django_peer.catalog"
    label = "catalog"
