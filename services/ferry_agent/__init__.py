"""`lianban-ferry`: the department side of a file ferry, beside the department's own system."""
