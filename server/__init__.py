"""hallq server core: configuration, storage, the queue engine and the adapters around it."""
