"""Tensor-product instructions: the eight connection modes, their weight shapes and their validation.

An instruction ``(i_in1, i_in2, i_out, mode, has_weight[, path_weight])`` puts ``in1[i_in1] x in2[i_in2]`` into
``out[i_out]``. The ``mode`` says how the multiplicities ``u`` (of ``in1``), ``v`` (of ``in2``) and ``w`` (of the
output) are connected; the table below is the whole contract of a mode.

========  ==============================  ===========================  ==========================
mode      output multiplicity             weight shape (``path_shape``)  elements summed per output
========  ==============================  ===========================  ==========================
``uvw``   any (weights required)          ``(u, v, w)``                ``u * v``
``uvu``   ``u``                           ``(u, v)``                   ``v``
``uvv``   ``v``                           ``(u, v)``                   ``u``
``uuw``   any (1 without weights), u = v  ``(u, w)``                   ``u``
``uuu``   ``u``, u = v                    ``(u,)``                     1
``uvuv``  ``u * v``                       ``(u, v)``                   1
``uvu<v`` ``u (u - 1) / 2``, u = v        ``(u (u - 1) / 2,)``         1
``u<vw``  any (weights required), u = v   ``(u (u - 1) / 2, w)``       ``u (u - 1) / 2``
========  ==============================  ===========================  ==========================
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

CONNECTION_MODES: tuple[str, ...] = ("uvw", "uvu", "uvv", "uuw", "uuu", "uvuv", "uvu<v", "u<vw")

__all__ = ["CONNECTION_MODES", "Instruction", "normalize_instructions", "num_elements", "path_shape"]


class Instruction(NamedTuple):
    """One path of a tensor product, as stored in ``TensorProduct.instructions``.

    Parameters
    ----------
    i_in1, i_in2, i_out : int
        Indices of the entries of ``irreps_in1``, ``irreps_in2`` and ``irreps_out`` the path connects.
    connection_mode : str
        One of ``'uvw'``, ``'uvu'``, ``'uvv'``, ``'uuw'``, ``'uuu'``, ``'uvuv'``, ``'uvu<v'``, ``'u<vw'``.
    has_weight : bool
        Whether the path has learnable weights.
    path_weight : float
        The fixed multiplier of the path. In ``TensorProduct.instructions`` this is the full normalized
        coefficient (normalization and the user's path weight included).
    path_shape : tuple of int
        Shape of the weights of the path (also defined when ``has_weight`` is False).

    Examples
    --------
    >>> Instruction(0, 0, 0, "uvu", True, 1.0, (2, 3))
    Instruction(i_in1=0, i_in2=0, i_out=0, connection_mode='uvu', has_weight=True, path_weight=1.0, path_shape=(2, 3))
    """

    i_in1: int
    i_in2: int
    i_out: int
    connection_mode: str
    has_weight: bool
    path_weight: float
    path_shape: tuple


def _check_mode(mode: Any) -> str:
    if not isinstance(mode, str) or mode not in CONNECTION_MODES:
        raise ValueError(
            f"unknown connection mode: expected one of {', '.join(CONNECTION_MODES)}, got {mode!r}"
        )
    return mode


def path_shape(mode: str, mul1: int, mul2: int, mul_out: int) -> tuple[int, ...]:
    """Shape of the weights of a path with connection ``mode`` and multiplicities ``mul1, mul2, mul_out``.

    Parameters
    ----------
    mode : str
        A connection mode, see :data:`CONNECTION_MODES`.
    mul1, mul2, mul_out : int
        Multiplicities of the first input, second input and output entries.

    Returns
    -------
    tuple of int

    Examples
    --------
    >>> path_shape("uvw", 2, 3, 4), path_shape("uuu", 3, 3, 3), path_shape("u<vw", 4, 4, 5)
    ((2, 3, 4), (3,), (6, 5))
    """
    mode = _check_mode(mode)
    pairs = mul1 * (mul2 - 1) // 2
    return {
        "uvw": (mul1, mul2, mul_out),
        "uvu": (mul1, mul2),
        "uvv": (mul1, mul2),
        "uuw": (mul1, mul_out),
        "uuu": (mul1,),
        "uvuv": (mul1, mul2),
        "uvu<v": (pairs,),
        "u<vw": (pairs, mul_out),
    }[mode]


def num_elements(mode: str, mul1: int, mul2: int) -> int:
    """Number of input products summed into one output component by a path (used by path normalization).

    Parameters
    ----------
    mode : str
        A connection mode, see :data:`CONNECTION_MODES`.
    mul1, mul2 : int
        Multiplicities of the two inputs.

    Returns
    -------
    int

    Examples
    --------
    >>> [num_elements(m, 4, 4) for m in CONNECTION_MODES]
    [16, 4, 4, 4, 1, 1, 1, 6]
    """
    mode = _check_mode(mode)
    return {
        "uvw": mul1 * mul2,
        "uvu": mul2,
        "uvv": mul1,
        "uuw": mul1,
        "uuu": 1,
        "uvuv": 1,
        "uvu<v": 1,
        "u<vw": mul1 * (mul2 - 1) // 2,
    }[mode]


def _check_multiplicities(
    index: int, mode: str, has_weight: bool, mul1: int, mul2: int, mul_out: int
) -> None:
    where = f"instruction {index} ({mode!r}, multiplicities {mul1}, {mul2} -> {mul_out})"
    if mode in ("uvw", "u<vw") and not has_weight:
        raise ValueError(f"{where}: mode {mode!r} needs weights, expected has_weight=True, got False")
    if mode in ("uuw", "uuu", "uvu<v", "u<vw") and mul1 != mul2:
        raise ValueError(f"{where}: mode {mode!r} needs equal input multiplicities, got {mul1} and {mul2}")
    expected = {
        "uvu": mul1,
        "uvv": mul2,
        "uuu": mul1,
        "uvuv": mul1 * mul2,
        "uvu<v": mul1 * (mul2 - 1) // 2,
    }.get(mode)
    if mode == "uuw" and not has_weight:
        expected = 1
    if expected is not None and mul_out != expected:
        raise ValueError(f"{where}: mode {mode!r} needs output multiplicity {expected}, got {mul_out}")


def _check_index(index: int, name: str, value: Any, length: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"instruction {index}: {name} must be an int, got {type(value).__name__}")
    if not -length <= value < length:
        raise ValueError(
            f"instruction {index}: {name} out of range, expected an index in [0, {length}), got {value}"
        )
    return value % length


def normalize_instructions(
    irreps_in1: Sequence[tuple[int, Any]],
    irreps_in2: Sequence[tuple[int, Any]],
    irreps_out: Sequence[tuple[int, Any]],
    instructions: Iterable[Sequence[Any]],
) -> list[Instruction]:
    """Validate user instructions and complete them into :class:`Instruction` objects.

    Parameters
    ----------
    irreps_in1, irreps_in2, irreps_out : sequence of ``(mul, ir)``
        The irreps; each ``ir`` has attributes ``l`` and ``p``.
    instructions : iterable of tuple
        ``(i_in1, i_in2, i_out, mode, has_weight[, path_weight])``.

    Returns
    -------
    list of Instruction
        With the user's ``path_weight`` (default 1.0) and the ``path_shape`` of the mode.

    Raises
    ------
    ValueError
        Wrong tuple length, index out of range, unknown mode, parity or triangle violation, multiplicity mismatch,
        negative path weight.

    Examples
    --------
    >>> from collections import namedtuple
    >>> Ir = namedtuple("Ir", "l p")
    >>> normalize_instructions([(2, Ir(1, -1))], [(3, Ir(1, -1))], [(2, Ir(0, 1))], [(0, 0, 0, "uvu", False)])
    [Instruction(i_in1=0, i_in2=0, i_out=0, connection_mode='uvu', has_weight=False, path_weight=1.0, path_shape=(2, 3))]
    """
    in1, in2, out = list(irreps_in1), list(irreps_in2), list(irreps_out)
    result = []
    for index, ins in enumerate(instructions):
        ins = tuple(ins)
        if len(ins) not in (5, 6, 7):  # 7: an Instruction (its path_shape is recomputed)
            raise ValueError(
                f"instruction {index}: expected a tuple (i_in1, i_in2, i_out, mode, has_weight[, path_weight]) "
                f"of length 5 or 6, got {ins!r}"
            )
        i1 = _check_index(index, "i_in1", ins[0], len(in1))
        i2 = _check_index(index, "i_in2", ins[1], len(in2))
        io = _check_index(index, "i_out", ins[2], len(out))
        mode = _check_mode(ins[3])
        has_weight = bool(ins[4])
        weight = float(ins[5]) if len(ins) >= 6 else 1.0
        if not weight >= 0.0:
            raise ValueError(f"instruction {index}: path_weight must be >= 0, got {weight}")
        (mul1, ir1), (mul2, ir2), (mul_out, ir_out) = in1[i1], in2[i2], out[io]
        if ir1.p * ir2.p != ir_out.p:
            raise ValueError(
                f"instruction {index}: parity violation, expected output parity {ir1.p * ir2.p} "
                f"(= {ir1.p} * {ir2.p}), got {ir_out.p}"
            )
        if not abs(ir1.l - ir2.l) <= ir_out.l <= ir1.l + ir2.l:
            raise ValueError(
                f"instruction {index}: triangle violation, expected {abs(ir1.l - ir2.l)} <= l_out <= "
                f"{ir1.l + ir2.l} for l1={ir1.l}, l2={ir2.l}, got l_out={ir_out.l}"
            )
        _check_multiplicities(index, mode, has_weight, mul1, mul2, mul_out)
        result.append(
            Instruction(i1, i2, io, mode, has_weight, weight, path_shape(mode, mul1, mul2, mul_out))
        )
    return result
