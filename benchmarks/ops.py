"""Per-op times at the DCGAN's layer shapes, scratchgan beside PyTorch, forward and backward.

    python benchmarks/ops.py                    # 2 threads, batch 128, wall-clock medians
    python benchmarks/ops.py --threads 1 --cpu  # CPU-time medians: steadier on a busy machine
    python benchmarks/ops.py --only conv        # the cases whose name contains "conv"

Inputs arrive as they do inside the network: feature maps in the engine's (C, H, W, N) memory
and Dense activations in (features, N) memory (transposed views; see scratchgan/functional/conv.py
and linear.py), real images in (N, C, H, W) memory, and gradients only for what the training
step needs (no input gradient for the real images of D's first conv). "backward" is everything
``y.backward(gy)`` does for that op alone. Each timed call follows an untimed one of the same
library, so that neither pays for the other's idle BLAS threads, which spin for ~0.1 s.
"""
import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--cpu", action="store_true",
                   help="report CPU time (all threads) instead of wall time")
    p.add_argument("--only", default="", help="run the cases whose name contains this")
    p.add_argument("--no-torch", action="store_true")
    return p.parse_args(argv)


def cases(N):
    """(name, op, [(shape, needs grad, in the engine's layout)], op keywords) for each case."""
    S = lambda *shape: shape  # noqa: E731
    return [
        ("conv2d D1 1->64 28->14 (real)", "conv2d",
         [(S(N, 1, 28, 28), False, False), (S(64, 1, 5, 5), True, False), (S(64,), True, False)],
         dict(stride=2, padding=2)),
        ("conv2d D1 1->64 28->14 (fake)", "conv2d",
         [(S(N, 1, 28, 28), True, True), (S(64, 1, 5, 5), True, False), (S(64,), True, False)],
         dict(stride=2, padding=2)),
        ("conv2d D2 64->128 14->7", "conv2d",
         [(S(N, 64, 14, 14), True, True), (S(128, 64, 5, 5), True, False), (S(128,), True, False)],
         dict(stride=2, padding=2)),
        ("conv_transpose2d G1 256->128 7->7", "conv_transpose2d",
         [(S(N, 256, 7, 7), True, True), (S(256, 128, 5, 5), True, False)],
         dict(stride=1, padding=2)),
        ("conv_transpose2d G2 128->64 7->14", "conv_transpose2d",
         [(S(N, 128, 7, 7), True, True), (S(128, 64, 5, 5), True, False)],
         dict(stride=2, padding=2, output_padding=1)),
        ("conv_transpose2d G3 64->1 14->28", "conv_transpose2d",
         [(S(N, 64, 14, 14), True, True), (S(64, 1, 5, 5), True, False)],
         dict(stride=2, padding=2, output_padding=1)),
        ("batch_norm dense (N, 12544)", "batch_norm",
         [(S(N, 12544), True, True), (S(12544,), True, False), (S(12544,), True, False)], {}),
        ("batch_norm G1 (N, 128, 7, 7)", "batch_norm",
         [(S(N, 128, 7, 7), True, True), (S(128,), True, False), (S(128,), True, False)], {}),
        ("batch_norm G2 (N, 64, 14, 14)", "batch_norm",
         [(S(N, 64, 14, 14), True, True), (S(64,), True, False), (S(64,), True, False)], {}),
        ("matmul G dense 100->12544", "linear",
         [(S(N, 100), False, False), (S(12544, 100), True, False)], {}),
        ("matmul D dense 6272->1", "linear",
         [(S(N, 6272), True, True), (S(1, 6272), True, False), (S(1,), True, False)], {}),
        ("leaky_relu (N, 64, 14, 14)", "leaky_relu", [(S(N, 64, 14, 14), True, True)],
         dict(negative_slope=0.3)),
        ("tanh (N, 1, 28, 28)", "tanh", [(S(N, 1, 28, 28), True, True)], {}),
        ("dropout (N, 64, 14, 14)", "dropout", [(S(N, 64, 14, 14), True, True)], dict(p=0.3)),
        ("bce_with_logits (N, 1)", "binary_cross_entropy_with_logits",
         [(S(N, 1), True, False), (S(N, 1), False, False)], {}),
    ]


def engine_layout(a):
    """The same values with the batch axis last in memory: (C, H, W, N) or (features, N)."""
    import numpy
    axes = tuple(range(1, a.ndim)) + (0,)
    return numpy.ascontiguousarray(a.transpose(axes)).transpose(numpy.argsort(axes))


def make_arrays(specs, rng):
    import numpy
    arrays = []
    for shape, _, engine in specs:
        a = rng.standard_normal(shape, dtype=numpy.float32)
        arrays.append(engine_layout(a) if engine else a)
    return arrays


def scratchgan_case(op, specs, arrays, kwargs):
    from scratchgan import functional as F
    from scratchgan.tensor import Tensor
    inputs = [Tensor._wrap(a, requires_grad=g) for a, (_, g, _) in zip(arrays, specs)]
    if op == "batch_norm":
        x, w, b = inputs
        fn = lambda: F.batch_norm(x, None, None, w, b, training=True)  # noqa: E731
    elif op == "binary_cross_entropy_with_logits":
        fn = lambda: F.binary_cross_entropy_with_logits(inputs[0], inputs[1])  # noqa: E731
    else:
        fn = lambda: getattr(F, op)(*inputs, **kwargs)  # noqa: E731
    return fn, lambda y, gy: y.backward(Tensor._wrap(gy)), inputs


def torch_case(op, specs, arrays, kwargs):
    import torch
    from torch.nn import functional as TF
    inputs = [torch.from_numpy(a.copy()).requires_grad_(g) for a, (_, g, _) in zip(arrays, specs)]
    if op == "batch_norm":
        x, w, b = inputs
        fn = lambda: TF.batch_norm(x, None, None, w, b, training=True)  # noqa: E731
    else:
        fn = lambda: getattr(TF, op)(*inputs, **kwargs)  # noqa: E731
    return fn, lambda y, gy: y.backward(torch.from_numpy(gy)), inputs


def time_case(fn, backward, inputs, gy, clock):
    """(forward seconds, backward seconds) of one call, grads cleared first."""
    for t in inputs:
        t.grad = None
    t0 = clock()
    y = fn()
    t1 = clock()
    if backward is not None and any(t.requires_grad for t in inputs):
        backward(y, gy.reshape(y.shape))
    return t1 - t0, clock() - t1


def run_case(name, op, specs, kwargs, args, use_torch, clock):
    import numpy
    rng = numpy.random.default_rng(0)
    arrays = make_arrays(specs, rng)
    sides = {"sg": scratchgan_case(op, specs, arrays, kwargs)}
    if use_torch:
        sides["torch"] = torch_case(op, specs, arrays, kwargs)
    y = sides["sg"][0]()
    gy = rng.standard_normal(y.shape, dtype=numpy.float32)
    # gradients flow back in the output's layout
    if y.ndim == 4 or (y.ndim == 2 and y.shape[1] > 1):
        gy = engine_layout(gy)
    times = {k: ([], []) for k in sides}
    for i in range(args.repeats + 1):  # the first is warm-up
        for k in sides if i % 2 == 0 else reversed(list(sides)):
            grad = gy if k == "sg" else numpy.ascontiguousarray(gy)
            # untimed: lets the other library's idle threads stop spinning
            time_case(*sides[k], grad, clock)
            fwd, bwd = time_case(*sides[k], grad, clock)
            if i:
                times[k][0].append(fwd)
                times[k][1].append(bwd)
    return {k: (1e3 * statistics.median(f), 1e3 * statistics.median(b))
            for k, (f, b) in times.items()}


def adam_case(args, use_torch, clock):
    """One Adam step over the DCGAN's generator parameters (2.1 M floats) in place."""
    import numpy
    from scratchgan import optim
    from scratchgan.tensor import Tensor
    shapes = [(12544, 100), (12544,), (12544,), (256, 128, 5, 5), (128,), (128,), (128, 64, 5, 5),
              (64,), (64,), (64, 1, 5, 5)]
    rng = numpy.random.default_rng(0)
    arrays = [rng.standard_normal(s, dtype=numpy.float32) for s in shapes]
    params = [Tensor._wrap(a.copy(), requires_grad=True) for a in arrays]
    for p, a in zip(params, arrays):
        p.grad = Tensor._wrap(a * 0.1)
    steps = {"sg": optim.Adam(params, lr=2e-4, betas=(0.5, 0.999)).step}
    if use_torch:
        import torch
        tparams = [torch.from_numpy(a.copy()).requires_grad_() for a in arrays]
        for p, a in zip(tparams, arrays):
            p.grad = torch.from_numpy(a * 0.1)
        steps["torch"] = torch.optim.Adam(tparams, lr=2e-4, betas=(0.5, 0.999)).step
    times = {k: [] for k in steps}
    for i in range(args.repeats + 1):
        for k, step in steps.items():
            step()  # untimed, as in run_case
            t0 = clock()
            step()
            if i:
                times[k].append(clock() - t0)
    return {k: (1e3 * statistics.median(v), 0.0) for k, v in times.items()}


def main(argv=None):
    args = parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)  # before numpy loads BLAS
    sys.path.insert(0, os.path.dirname(HERE))
    from scratchgan import backend as B
    # the DCGAN's choice (scratchgan/backend/threads.py)
    B.set_num_threads(args.threads, by="scratchgan")
    use_torch = not args.no_torch
    if use_torch:
        try:
            import torch
            torch.set_num_threads(args.threads)
        except ImportError:
            use_torch = False
    clock = time.process_time if args.cpu else time.perf_counter
    what = "CPU" if args.cpu else "wall"
    print(f"batch {args.batch_size}, {args.threads} threads, median {what} ms of {args.repeats}")
    print(f"{'op':38}{'sg fwd':>9}{'sg bwd':>9}{'pt fwd':>9}{'pt bwd':>9}{'ratio':>8}")
    totals = [0.0, 0.0]
    rows = [(name, lambda n=name, o=op, s=specs, k=kw: run_case(n, o, s, k, args, use_torch, clock))
            for name, op, specs, kw in cases(args.batch_size)]
    rows.append(("adam step, G parameters", lambda: adam_case(args, use_torch, clock)))
    for name, run in rows:
        if args.only not in name:
            continue
        r = run()
        sg = r["sg"]
        line = f"{name:38}{sg[0]:9.2f}{sg[1]:9.2f}"
        if "torch" in r:
            pt = r["torch"]
            line += f"{pt[0]:9.2f}{pt[1]:9.2f}{(sg[0] + sg[1]) / max(pt[0] + pt[1], 1e-9):8.2f}"
            totals[1] += pt[0] + pt[1]
        totals[0] += sg[0] + sg[1]
        print(line, flush=True)
    if use_torch:
        print(f"{'total (each case once)':38}{totals[0]:18.1f}{totals[1]:18.1f}"
              f"{totals[0] / totals[1]:8.2f}")


if __name__ == "__main__":
    main()
