"""Code the tests share: spec checks (``spec_check`` and one adapter per vendor spec), the
vendor emulators' set-up (``vendors``, ``saas_e2e``), an in-memory connector (``memory``), the
CLI runner (``clirun``) and the headless browser (``browser``). The emulators themselves are in
``tests/emulators``; the vendors' specs in ``tests/specs``."""
