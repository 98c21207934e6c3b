"""A matplotlib backend for the examples: Agg, whose ``plt.show()`` saves every open figure.

The DCGAN tutorial shows its plots with ``plt.show()``. Run as a script with

    MPLBACKEND=module://show_to_png python examples/dcgan_tutorial.py

(this folder is on ``sys.path`` because it holds the script), each ``show()`` writes the open
figures to ``figure_<n>.png`` (n counting 1, 2, ... over the run) in the current directory
and closes them, so that a run leaves its plots behind. With ``MPLBACKEND=Agg`` they are
dropped instead.
"""
import matplotlib.pyplot as plt
from matplotlib.backend_bases import FigureManagerBase
from matplotlib.backends.backend_agg import FigureCanvasAgg

FigureCanvas = FigureCanvasAgg
FigureManager = FigureManagerBase


_saved = [0]


def show(*args, **kwargs):
    for number in plt.get_fignums():
        _saved[0] += 1
        plt.figure(number).savefig(f"figure_{_saved[0]}.png")
    plt.close("all")
