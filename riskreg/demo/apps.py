from django.apps import AppConfig


class DemoConfig(AppConfig):
    """No models: the app is here so that seed_demo and generate_data are found as commands."""

    name = "riskreg.demo"
    label = "demo"
