"""Pure channel parsers: bytes or JSON in, an ``InboundMessage`` out; no database, no Django."""
