"""Built-in connector plugins, installed as ``okrsync.connectors``.

Each module here registers its connectors through the same hooks a third-party plugin
uses; ``okrsync.plugins.DEFAULT_PLUGINS`` lists them.
"""
