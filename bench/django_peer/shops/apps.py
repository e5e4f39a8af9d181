from django.apps import AppConfig


class ShopsConfig(AppConfig):
    name = "bench.django_peer.shops"
    label = "shops"
