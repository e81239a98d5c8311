"""The shipped regulation presets (YAML files loaded by name)."""
