"""Testing helpers: equivariance, normalization and compilability checks, with e3nn's ``e3nn.util.test`` API.

Every function works on any callable that carries ``irreps_in`` / ``irreps_out`` attributes (or is given them).
An I/O specification is a list with one entry per argument (or per returned value), each entry being

- an :class:`~e3torch.o3.Irreps` (or anything :class:`~e3torch.o3.Irreps` accepts, e.g. ``"1x0e + 2x1o"``): the
  last dimension transforms with :math:`D(R)`;
- ``"cartesian_points"``: a ``(..., 3)`` tensor of positions, transformed as :math:`x \\mapsto R x + t` (rotation,
  inversion and translation);
- ``None``: not transformed (inputs are passed as they are, outputs must be invariant).

A single :class:`~e3torch.o3.Irreps` (or string) stands for a list of one.

Examples
--------
>>> import torch
>>> from e3torch.util.test import assert_equivariant
>>> def f(x):
...     return x * x.norm(dim=-1, keepdim=True)
>>> errors = assert_equivariant(f, [torch.randn(10, 3, dtype=torch.float64)], irreps_in="1o", irreps_out="1o")
>>> sorted(errors)
[(0, False), (1, False)]
"""

from __future__ import annotations

import random
import warnings
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from e3torch.o3 import Irreps, rand_matrix

# Falsy, so pytest never collects this module as tests; a dict (no extra doctests), as doctest expects.
__test__: Dict[str, str] = {}

__all__ = [
    "FLOAT_TOLERANCE",
    "assert_equivariant",
    "equivariance_error",
    "format_equivariance_error",
    "random_irreps",
    "assert_normalized",
    "assert_auto_jitable",
    "assert_torch_compile",
    "set_random_seeds",
]

FLOAT_TOLERANCE: Dict[torch.dtype, float] = {torch.float16: 1e-1, torch.float32: 1e-3, torch.float64: 1e-9}

CARTESIAN = "cartesian_points"
_Spec = Union[Irreps, str, None]
_ErrorKey = Tuple[int, bool]


def set_random_seeds() -> None:
    """Seed torch, Python's :mod:`random` and NumPy with 0, for reproducible tests.

    Examples
    --------
    >>> import torch
    >>> from e3torch.util.test import set_random_seeds
    >>> set_random_seeds(); a = torch.rand(2)
    >>> set_random_seeds(); b = torch.rand(2)
    >>> torch.equal(a, b)
    True
    """
    torch.manual_seed(0)
    random.seed(0)
    np.random.seed(0)


# ---------------------------------------------------------------------------------------------------------------------
# irreps specifications


def _to_spec(x: Any) -> _Spec:
    if x is None or (isinstance(x, str) and x == CARTESIAN):
        return x
    return Irreps(x)


def _to_spec_list(x: Any) -> List[_Spec]:
    if x is None or isinstance(x, (str, Irreps)):
        return [_to_spec(x)]
    if isinstance(x, (list, tuple)) and all(e is None or isinstance(e, (str, Irreps)) for e in x):
        return [_to_spec(e) for e in x]
    return [Irreps(x)]  # e.g. a list of (mul, (l, p)) tuples


def _get_io_irreps(func: Callable, irreps_in: Any = None, irreps_out: Any = None) -> Tuple[List[_Spec], List[_Spec]]:
    """Preprocess or, if not given, infer from ``func.irreps_in`` / ``func.irreps_out`` the I/O specifications."""
    out = []
    for name, given in (("irreps_in", irreps_in), ("irreps_out", irreps_out)):
        if given is None:
            if not hasattr(func, name):
                raise ValueError(f"Cannot infer {name} for {func!r}: it has no {name} attribute; provide them explicitly")
            given = getattr(func, name)
        out.append(_to_spec_list(given))
    return out[0], out[1]


def _rand_args(irreps_in: Sequence[_Spec], batch_size: Optional[int] = None) -> List[torch.Tensor]:
    """Random inputs (torch's default dtype) for specifications made of Irreps and ``"cartesian_points"``."""
    if not all(isinstance(i, Irreps) or i == CARTESIAN for i in irreps_in):
        raise ValueError(
            "Random arguments cannot be generated when argument types besides Irreps and 'cartesian_points' are "
            f"specified (got {list(irreps_in)}); provide explicit args_in"
        )
    batch = random.randint(1, 4) if batch_size is None else batch_size
    return [torch.randn(batch, 3) if i == CARTESIAN else i.randn(batch, -1) for i in irreps_in]


def _check_arg(x: Any, spec: _Spec, where: str) -> None:
    if spec is None:
        return
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor for {where} (irreps {spec}), got {type(x).__name__}")
    dim = 3 if spec == CARTESIAN else spec.dim
    if x.dim() == 0 or x.shape[-1] != dim:
        raise ValueError(f"expected {where} with last dimension {dim} (irreps {spec}), got shape {tuple(x.shape)}")


def _transform(x: Any, spec: _Spec, rot: torch.Tensor, translation: torch.Tensor) -> Any:
    """Act on ``x`` with the rotation/inversion ``rot`` (and ``translation`` for cartesian points), in rot's dtype."""
    if spec is None:
        return x
    y = x.to(dtype=rot.dtype)
    if spec == CARTESIAN:
        return y @ rot.T + translation
    return y @ spec.D_from_matrix(rot).T


# ---------------------------------------------------------------------------------------------------------------------
# equivariance


def equivariance_error(
    func: Callable,
    args_in: Sequence[Any],
    irreps_in: Any = None,
    irreps_out: Any = None,
    ntrials: int = 1,
    do_parity: bool = True,
    do_translation: bool = True,
    transform_dtype: torch.dtype = torch.float64,
) -> Dict[_ErrorKey, torch.Tensor]:
    r"""The largest componentwise equivariance error of ``func``: :math:`\max |f(g \cdot x) - g \cdot f(x)|`.

    Each trial draws a random rotation :math:`R` (uniform, in ``transform_dtype``); with ``parity_k = 1`` it is
    composed with the inversion (:math:`-R`); with ``did_translate = True`` (tested only when an input is
    ``"cartesian_points"``) cartesian points are also translated by a random vector. Inputs are transformed in
    ``transform_dtype`` and converted back to their own dtype; outputs are compared in ``transform_dtype``.

    Parameters
    ----------
    func : callable
        the function to test
    args_in : list
        the original inputs to pass to ``func``
    irreps_in : list of `e3torch.o3.Irreps` or `e3torch.o3.Irreps`, optional
        one specification per argument (see the module documentation); default: ``func.irreps_in``
    irreps_out : list of `e3torch.o3.Irreps` or `e3torch.o3.Irreps`, optional
        one specification per returned value; default: ``func.irreps_out``
    ntrials : int
        run this many trials with random transforms
    do_parity : bool
        whether to test the inversion too
    do_translation : bool
        whether to test translations of ``"cartesian_points"`` inputs
    transform_dtype : `torch.dtype`
        dtype in which the transformations are applied and the outputs compared

    Returns
    -------
    dict
        maps ``(parity_k, did_translate)`` to a tensor with, for each output, its largest error over all trials

    Examples
    --------
    >>> import torch
    >>> from e3torch.util.test import equivariance_error
    >>> x = torch.randn(5, 3, dtype=torch.float64)
    >>> err = equivariance_error(lambda v: v.abs(), [x], irreps_in="1o", irreps_out="1o")
    >>> bool(err[(0, False)].max() > 1e-3)
    True
    """
    if not callable(func):
        raise TypeError(f"expected func to be callable, got {type(func).__name__}")
    if isinstance(args_in, torch.Tensor) or not isinstance(args_in, (list, tuple)):
        raise TypeError(f"expected args_in to be a list or tuple of arguments, got {type(args_in).__name__}")
    if ntrials < 1:
        raise ValueError(f"expected ntrials >= 1, got {ntrials}")
    specs_in, specs_out = _get_io_irreps(func, irreps_in, irreps_out)
    if len(args_in) != len(specs_in):
        raise ValueError(f"expected {len(specs_in)} arguments (irreps_in {specs_in}), got {len(args_in)}")
    for k, (x, spec) in enumerate(zip(args_in, specs_in)):
        _check_arg(x, spec, f"argument {k}")
    tensors = [x for x in args_in if isinstance(x, torch.Tensor)]
    device = tensors[0].device if tensors else None

    parity_ks = [0, 1] if do_parity else [0]
    translations = [False, True] if do_translation and CARTESIAN in specs_in else [False]
    errors: Dict[_ErrorKey, torch.Tensor] = {}
    for _ in range(ntrials):
        for parity_k in parity_ks:
            for did_translate in translations:
                rot = rand_matrix(dtype=transform_dtype, device=device) * (-1) ** parity_k
                shift = torch.zeros(1, 3, dtype=transform_dtype, device=device)
                if did_translate:
                    shift = torch.randn(1, 3, dtype=transform_dtype, device=device)
                moved = [
                    _transform(x, s, rot, shift).to(dtype=x.dtype) if s is not None else x
                    for x, s in zip(args_in, specs_in)
                ]
                out_then_move = _as_outputs(func(*args_in), specs_out)
                move_then_out = _as_outputs(func(*moved), specs_out)
                errs = []
                for k, (a, b, s) in enumerate(zip(out_then_move, move_then_out, specs_out)):
                    _check_arg(a, s, f"output {k}")
                    diff = _transform(a, s, rot, shift).to(transform_dtype) - b.to(dtype=transform_dtype)
                    errs.append(diff.abs().max() if diff.numel() > 0 else diff.new_zeros(()))
                err = torch.stack(errs).detach() if errs else torch.zeros(0, dtype=transform_dtype)
                key = (parity_k, did_translate)
                errors[key] = torch.maximum(errors[key], err) if key in errors else err
    return errors


def _as_outputs(out: Any, specs_out: Sequence[_Spec]) -> Tuple[Any, ...]:
    outs = tuple(out) if isinstance(out, (list, tuple)) else (out,)
    if len(outs) != len(specs_out):
        raise ValueError(f"expected func to return {len(specs_out)} outputs (irreps_out {specs_out}), got {len(outs)}")
    return outs


def format_equivariance_error(errors: Dict[_ErrorKey, torch.Tensor]) -> str:
    """Format the dictionary returned by :func:`equivariance_error` into a readable string.

    Parameters
    ----------
    errors : dict
        as returned by :func:`equivariance_error`

    Returns
    -------
    str
        one line per ``(parity_k, did_translate)`` with the largest error and the output it occurs in

    Examples
    --------
    >>> import torch
    >>> from e3torch.util.test import format_equivariance_error
    >>> print(format_equivariance_error({(0, False): torch.tensor([1e-3, 2.0]), (1, False): torch.tensor([3.0])}))
    (parity_k=0, did_translate=False) -> max error=2.000e+00 in argument 1
    (parity_k=1, did_translate=False) -> max error=3.000e+00 in argument 0
    """
    lines = []
    for (parity_k, did_translate), v in errors.items():
        head = f"(parity_k={int(parity_k)}, did_translate={bool(did_translate)}) -> "
        if v.numel() == 0:
            lines.append(head + "no outputs")
        else:
            lines.append(head + f"max error={float(v.max()):.3e} in argument {int(v.argmax())}")
    return "\n".join(lines)


def _tolerance_for(args: Sequence[Any]) -> float:
    dtypes = [x.dtype for x in args if isinstance(x, torch.Tensor) and x.is_floating_point()]
    if not dtypes:
        return FLOAT_TOLERANCE.get(torch.get_default_dtype(), 1e-3)
    return max(FLOAT_TOLERANCE.get(d, 1e-3) for d in dtypes)


def assert_equivariant(
    func: Callable,
    args_in: Optional[Sequence[Any]] = None,
    irreps_in: Any = None,
    irreps_out: Any = None,
    tolerance: Optional[float] = None,
    **kwargs: Any,
) -> Dict[_ErrorKey, torch.Tensor]:
    """Assert that ``func`` is equivariant (raises ``AssertionError`` otherwise).

    Parameters
    ----------
    func : callable
        the function to test
    args_in : list, optional
        the inputs. If ``None``, random inputs are drawn (torch's default dtype, batch of 1 to 4) from
        ``irreps_in``, which must then hold only Irreps and ``"cartesian_points"``
    irreps_in, irreps_out : optional
        see :func:`equivariance_error`
    tolerance : float, optional
        the largest acceptable error. Default: ``FLOAT_TOLERANCE`` of the least precise floating dtype among the
        inputs (1e-9 for float64, 1e-3 for float32)
    **kwargs
        passed to :func:`equivariance_error` (``ntrials``, ``do_parity``, ``do_translation``, ``transform_dtype``)

    Returns
    -------
    dict
        the errors, as returned by :func:`equivariance_error`

    Examples
    --------
    >>> import torch
    >>> from e3torch.util.test import assert_equivariant
    >>> def broken(x):
    ...     return x.abs()
    >>> assert_equivariant(broken, [torch.randn(4, 3, dtype=torch.float64)], irreps_in="1o", irreps_out="1o")
    Traceback (most recent call last):
    ...
    AssertionError: Largest componentwise equivariance error was too large for: ...
    """
    specs_in, specs_out = _get_io_irreps(func, irreps_in, irreps_out)
    if args_in is None:
        args_in = _rand_args(specs_in)
    errors = equivariance_error(func, args_in=args_in, irreps_in=specs_in, irreps_out=specs_out, **kwargs)
    tol = _tolerance_for(args_in) if tolerance is None else float(tolerance)
    worst = max((float(v.max()) for v in errors.values() if v.numel() > 0), default=0.0)
    if not worst <= tol:
        raise AssertionError(
            f"Largest componentwise equivariance error was too large for: {format_equivariance_error(errors)}\n"
            f"(tolerance {tol:.1e})"
        )
    return errors


# ---------------------------------------------------------------------------------------------------------------------
# random irreps


def random_irreps(
    n: int = 1,
    lmax: int = 4,
    mul_min: int = 0,
    mul_max: int = 5,
    len_min: int = 0,
    len_max: int = 4,
    clean: bool = False,
    allow_empty: bool = True,
) -> Union[Any, List[Any]]:
    """Random irreps, for testing (drawn with Python's :mod:`random`).

    Parameters
    ----------
    n : int
        how many to generate
    lmax : int
        the largest :math:`l` (inclusive)
    mul_min, mul_max : int
        the range of the multiplicities (inclusive)
    len_min, len_max : int
        the range of the number of ``(mul, ir)`` terms (inclusive)
    clean : bool
        if ``True`` only :class:`~e3torch.o3.Irreps` are returned; otherwise also the equivalent strings and lists
        of ``(mul, (l, p))`` tuples
    allow_empty : bool
        whether irreps of dimension 0 may be returned

    Returns
    -------
    irreps-like, or list of them when ``n > 1``

    Examples
    --------
    >>> from e3torch.o3 import Irreps
    >>> from e3torch.util.test import random_irreps
    >>> irreps = random_irreps(n=3, lmax=2, clean=True, allow_empty=False)
    >>> all(isinstance(i, Irreps) and i.dim > 0 and i.lmax <= 2 for i in irreps)
    True
    """
    for name, value in (("n", n), ("lmax", lmax), ("mul_min", mul_min), ("len_min", len_min)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"expected {name} to be a non-negative int, got {value!r}")
    if mul_max < mul_min:
        raise ValueError(f"expected mul_min <= mul_max, got mul_min={mul_min} and mul_max={mul_max}")
    if len_max < len_min:
        raise ValueError(f"expected len_min <= len_max, got len_min={len_min} and len_max={len_max}")
    if not allow_empty and (mul_max < 1 or len_max < 1):
        raise ValueError(
            f"allow_empty=False needs mul_max >= 1 and len_max >= 1, got mul_max={mul_max} and len_max={len_max}"
        )
    out = []
    for _ in range(n):
        terms = [
            (random.randint(mul_min, mul_max), (random.randint(0, lmax), random.choice((-1, 1))))
            for _ in range(random.randint(len_min, len_max))
        ]
        if not allow_empty and sum(mul * (2 * l + 1) for mul, (l, _) in terms) == 0:
            if not terms:
                terms.append((0, (random.randint(0, lmax), random.choice((-1, 1)))))
            terms[-1] = (random.randint(max(1, mul_min), mul_max), terms[-1][1])
        irreps = Irreps(terms)
        if clean:
            out.append(irreps)
        else:
            out.append(random.choice([irreps, str(irreps), terms]))
    return out[0] if n == 1 else out


# ---------------------------------------------------------------------------------------------------------------------
# normalization


def assert_normalized(
    func: torch.nn.Module,
    irreps_in: Any = None,
    irreps_out: Any = None,
    normalization: str = "component",
    n_input: int = 10_000,
    n_weight: Optional[int] = None,
    weights: Optional[Iterable[torch.nn.Parameter]] = None,
    atol: float = 0.1,
) -> None:
    r"""Assert that ``func`` maps normalized inputs to normalized outputs (raises ``AssertionError`` otherwise).

    Inputs are drawn with :meth:`Irreps.randn` (``normalization="component"``: unit variance components;
    ``"norm"``: unit-norm irreps). The weights are re-drawn from a standard normal ``n_weight`` times. Over all
    samples, every output component must have :math:`\langle y_i^2 \rangle = 1` (``"component"``), or every output
    irrep :math:`\langle |y_u|^2 \rangle = 1` (``"norm"``), within ``atol``. The weights are restored afterwards.

    Parameters
    ----------
    func : torch.nn.Module
        the module to test
    irreps_in, irreps_out : optional
        see :func:`equivariance_error`; they must be Irreps
    normalization : {"component", "norm"}
        for both the inputs and the outputs
    n_input : int
        number of input samples per weight draw
    n_weight : int, optional
        number of weight draws (default: 20, or 1 when there are no weights)
    weights : iterable of `torch.nn.Parameter`, optional
        the weights to re-draw (default: ``func.parameters()``)
    atol : float
        tolerance on the moments

    Examples
    --------
    >>> import torch
    >>> from e3torch.util.test import assert_normalized
    >>> class Rotate(torch.nn.Module):
    ...     irreps_in = irreps_out = "2x1o"
    ...     def forward(self, x):
    ...         return x.flip(-1)
    >>> assert_normalized(Rotate(), n_input=2000)
    """
    if normalization not in ("component", "norm"):
        raise ValueError(f'expected normalization to be "component" or "norm", got {normalization!r}')
    specs_in, specs_out = _get_io_irreps(func, irreps_in, irreps_out)
    if not all(isinstance(s, Irreps) for s in specs_in + specs_out):
        raise ValueError(f"assert_normalized needs Irreps inputs and outputs, got {specs_in} -> {specs_out}")
    weights = list(func.parameters() if weights is None else weights)
    n_weight = (20 if weights else 1) if n_weight is None else n_weight
    if n_weight < 1 or n_input < 1:
        raise ValueError(f"expected n_weight >= 1 and n_input >= 1, got n_weight={n_weight} and n_input={n_input}")

    saved = [w.detach().clone() for w in weights]
    sums: Dict[int, torch.Tensor] = {}
    try:
        with torch.no_grad():
            for _ in range(n_weight):
                for w in weights:
                    w.normal_()
                args = [s.randn(n_input, -1, normalization=normalization) for s in specs_in]
                outs = _as_outputs(func(*args), specs_out)
                for k, (y, s) in enumerate(zip(outs, specs_out)):
                    m = _moments(y.reshape(-1, s.dim), s, normalization)
                    sums[k] = sums[k] + m if k in sums else m
    finally:
        with torch.no_grad():
            for w, w0 in zip(weights, saved):
                w.copy_(w0)
    bad = []
    for k, total in sums.items():
        moments = total / n_weight
        dev = (moments - 1).abs()
        if dev.numel() > 0 and not bool(dev.max() <= atol):
            bad.append(f"output {k} ({specs_out[k]}): second moments {moments.tolist()}")
    if bad:
        raise AssertionError(f"outputs are not {normalization}-normalized within atol={atol}: " + "; ".join(bad))


def _moments(y: torch.Tensor, irreps: Irreps, normalization: str) -> torch.Tensor:
    """Mean squares per component (``component``) or per irrep (``norm``) of ``y: (n, irreps.dim)``."""
    sq = y.detach().double().pow(2).mean(0)
    if normalization == "component":
        return sq
    per_irrep = []
    for (mul, ir), sl in zip(irreps, irreps.slices()):
        per_irrep.append(sq[sl].reshape(mul, ir.dim).sum(-1))
    return torch.cat(per_irrep) if per_irrep else sq.new_zeros(0)


# ---------------------------------------------------------------------------------------------------------------------
# compilation


def assert_auto_jitable(
    func: Callable,
    error_on_warnings: bool = True,
    n_trace_checks: int = 2,
    strict_shapes: bool = True,
) -> Callable:
    """Assert that ``func`` compiles with ``torch.compile(fullgraph=True)`` and matches eager mode.

    e3torch does not use TorchScript: this replaces e3nn's tracing check. ``func`` (with ``irreps_in`` made of
    Irreps and ``"cartesian_points"``) is compiled with the ``"eager"`` backend (graph capture without code
    generation, which is what can fail), and run on ``n_trace_checks`` random inputs of varying batch sizes, each
    compared with the eager result.

    Parameters
    ----------
    func : callable
        the module or function to compile
    error_on_warnings : bool
        if ``True``, warnings emitted while compiling and running make the check fail
    n_trace_checks : int
        how many random inputs to compare on
    strict_shapes : bool
        if ``True``, also check that the compiled function rejects inputs whose last dimension does not match
        ``irreps_in``

    Returns
    -------
    callable
        the compiled function

    Examples
    --------
    >>> import torch
    >>> from e3torch.util.test import assert_auto_jitable
    >>> class Scale(torch.nn.Module):
    ...     irreps_in = irreps_out = "1x1o"
    ...     def forward(self, x):
    ...         if x.shape[-1] != 3:
    ...             raise ValueError("expected 3 features")
    ...         return 2 * x
    >>> compiled = assert_auto_jitable(Scale())
    """
    specs_in, specs_out = _get_io_irreps(func, None, None)
    compiled = torch.compile(func, fullgraph=True, backend="eager")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for trial in range(max(1, n_trace_checks)):
            args = _rand_args(specs_in, batch_size=trial + 2)
            expected = _as_outputs(func(*args), specs_out)
            got = _as_outputs(compiled(*args), specs_out)
            for k, (a, b) in enumerate(zip(expected, got)):
                if isinstance(a, torch.Tensor) and not torch.allclose(a, b, atol=_tolerance_for([a]), rtol=0):
                    raise AssertionError(f"compiled output {k} differs from eager: max error {(a - b).abs().max():.3e}")
        if strict_shapes:
            _assert_rejects_bad_shapes(compiled, specs_in)
    if error_on_warnings and caught:
        raise AssertionError("warnings while compiling: " + "; ".join(str(w.message) for w in caught))
    return compiled


def _assert_rejects_bad_shapes(compiled: Callable, specs_in: Sequence[_Spec]) -> None:
    for k, spec in enumerate(specs_in):
        args = _rand_args(specs_in, batch_size=2)
        dim = args[k].shape[-1]
        args[k] = torch.randn(2, dim + 1, dtype=args[k].dtype)
        try:
            compiled(*args)
        except Exception:  # noqa: BLE001 - any error is the expected rejection
            continue
        raise AssertionError(f"compiled function accepted argument {k} with last dimension {dim + 1} (irreps {spec})")


def assert_torch_compile(compile_mode: str, func: Callable, *args: Any, **kwargs: Any) -> None:
    """Assert that the module built by ``func()`` runs under ``torch.compile(fullgraph=True)`` like in eager mode.

    Parameters
    ----------
    compile_mode : str
        accepted for compatibility with e3nn (which uses it to select TorchScript modes); ignored
    func : callable
        builds the module, e.g. ``functools.partial(MyModule, ...)``
    *args, **kwargs
        the arguments of the module's forward

    Examples
    --------
    >>> import functools, torch
    >>> from e3torch.util.test import assert_torch_compile
    >>> assert_torch_compile("script", functools.partial(torch.nn.Linear, 3, 2), torch.randn(4, 3))
    """
    module = func()
    expected = module(*args, **kwargs)
    got = torch.compile(module, fullgraph=True, backend="eager")(*args, **kwargs)
    expected_t = expected if isinstance(expected, (list, tuple)) else (expected,)
    got_t = got if isinstance(got, (list, tuple)) else (got,)
    for k, (a, b) in enumerate(zip(expected_t, got_t)):
        if not torch.allclose(a, b, atol=_tolerance_for([a]), rtol=0):
            raise AssertionError(f"compiled output {k} differs from eager: max error {(a - b).abs().max():.3e}")
