"""One module per payload shape, each with NAME (the shape's human name), claims(payload) -> bool and
read(payload) -> Trace. reader.ADAPTERS orders them; the first that claims a payload reads it."""
