"""One adapter per payment provider: checks what that provider lets us check of a callback
(signature, source) and turns its body into the Callback the payments service stores. The
routes pick the adapter, store the Callback and answer in the provider's expected shape."""
