from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    name = "regdesk.workspace"
