"""``herd chat``: a Textual chat app for Herd servers.

``seam.py`` is the only door to the server (``client.py`` over llama-stack-client,
``fake.py`` for tests); ``events.py`` the plain data that crosses it; ``screens/`` and
``widgets/`` render it and never import an SDK.
"""
