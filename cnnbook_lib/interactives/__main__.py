"""``python -m cnnbook_lib.interactives [--check]``: regenerate (or check) ``js/formulas.js``."""
from .jsgen import main

main()
