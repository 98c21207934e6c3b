"""IPython.display's ``HTML`` for the examples, which run as scripts, not in a notebook.

The DCGAN tutorial ends a cell with ``HTML(ani.to_jshtml())`` so that a notebook shows the
animation. Outside one there is nothing to show it on, so ``HTML`` writes the page to a file,
``animation.html`` in the current directory (or ``SCRATCHGAN_EXAMPLE_HTML``), and returns the
markup, as IPython's object would hold it.
"""
import os


def HTML(data=None):  # noqa: N802  (IPython's name)
    path = os.environ.get("SCRATCHGAN_EXAMPLE_HTML", "animation.html")
    with open(path, "w", encoding="utf-8") as out:
        out.write(data or "")
    return data
