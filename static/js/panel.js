// Panel behaviour lives here (no inline scripts: the pages run under a strict CSP).
