"""Built-in problems: the seed's three examples for `chainrule explain`, and training files for `chainrule train`."""
