from django.urls import path

from .catalog.views import product

urlpatterns = [path("p/<slug:slug>", product)]
