xpflow {}
xpflow {} # ERROR: Duplicate xpflow block
