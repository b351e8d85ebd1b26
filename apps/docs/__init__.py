"""Documents into vector stores from the shell: walk local paths, sync them into a store, search it.

``walk`` turns PATH arguments into files, ``client`` speaks the server's OpenAI-compatible
Files and vector store API, and ``ingest`` syncs files into a store by content hash.
No typer here: ``herd.cli.docs`` and ``herd.cli.stores`` are the shell's side.
"""
