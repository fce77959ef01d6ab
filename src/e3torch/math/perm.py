r"""Permutations of :math:`\{0, \dots, n-1\}` as tuples, and the symmetric group :math:`S_n`.

A permutation ``p`` is a tuple containing each of ``0, ..., n-1`` once; it maps ``i`` to ``p[i]``.

Examples
--------
>>> from e3torch.math import perm
>>> p = perm.from_int(4, 3)
>>> p, perm.inverse(p), perm.sign(p)
((1, 2, 0), (2, 0, 1), 1)
>>> len(perm.group(4))
24
"""

from __future__ import annotations

import math
import random
from typing import Optional, Set, Tuple

import torch

from e3torch.math._linalg import complete_basis

__all__ = [
    "TY_PERM",
    "is_perm",
    "identity",
    "compose",
    "inverse",
    "rand",
    "from_int",
    "to_int",
    "group",
    "germinate",
    "is_group",
    "to_cycles",
    "sign",
    "standard_representation",
    "natural_representation",
    "complete_basis",
]

TY_PERM = Tuple[int, ...]


def _check_perm(p: TY_PERM, name: str = "p") -> None:
    if not is_perm(p):
        raise ValueError(f"expected {name} to be a permutation (a tuple holding 0..n-1 once each), got {p!r}")


def is_perm(p: TY_PERM) -> bool:
    """Whether ``p`` is a permutation: a tuple containing each of ``0, ..., len(p) - 1`` exactly once.

    Parameters
    ----------
    p : tuple of int

    Returns
    -------
    bool

    Examples
    --------
    >>> from e3torch.math.perm import is_perm
    >>> is_perm((1, 2, 0)), is_perm((0, 0, 1)), is_perm((1, 2))
    (True, False, False)
    """
    return isinstance(p, tuple) and sorted(p) == list(range(len(p)))


def identity(n: int) -> TY_PERM:
    """The identity permutation of ``n`` elements.

    Parameters
    ----------
    n : int

    Returns
    -------
    tuple of int

    Examples
    --------
    >>> from e3torch.math.perm import identity
    >>> identity(3)
    (0, 1, 2)
    """
    if n < 0:
        raise ValueError(f"expected n >= 0, got {n}")
    return tuple(range(n))


def compose(p1: TY_PERM, p2: TY_PERM) -> TY_PERM:
    r"""Composition :math:`p_1 \circ p_2`, i.e. ``i -> p1[p2[i]]``.

    Parameters
    ----------
    p1, p2 : tuple of int
        permutations of the same length

    Returns
    -------
    tuple of int

    Examples
    --------
    >>> from e3torch.math.perm import compose
    >>> compose((1, 2, 0), (1, 0, 2))
    (2, 1, 0)
    """
    _check_perm(p1, "p1")
    _check_perm(p2, "p2")
    if len(p1) != len(p2):
        raise ValueError(f"expected permutations of the same length, got {len(p1)} and {len(p2)}")
    return tuple(p1[p2[i]] for i in range(len(p1)))


def inverse(p: TY_PERM) -> TY_PERM:
    """The inverse permutation: ``inverse(p)[p[i]] == i``.

    Parameters
    ----------
    p : tuple of int

    Returns
    -------
    tuple of int

    Examples
    --------
    >>> from e3torch.math.perm import inverse
    >>> inverse((1, 2, 0))
    (2, 0, 1)
    """
    _check_perm(p)
    out = [0] * len(p)
    for i, j in enumerate(p):
        out[j] = i
    return tuple(out)


def from_int(i: int, n: int) -> TY_PERM:
    r"""The ``i``-th permutation of ``n`` elements, :math:`0 \le i < n!`.

    Mixed-radix decoding: the remaining elements are kept in a sorted pool; at step ``k`` the element at position
    ``i mod (n - k)`` of the pool is taken and ``i`` becomes ``i // (n - k)``. Inverse of :func:`to_int`.

    Parameters
    ----------
    i : int
    n : int

    Returns
    -------
    tuple of int

    Examples
    --------
    >>> from e3torch.math.perm import from_int
    >>> [from_int(i, 3) for i in range(3)]
    [(0, 1, 2), (1, 0, 2), (2, 0, 1)]
    """
    if n < 0:
        raise ValueError(f"expected n >= 0, got {n}")
    if not 0 <= i < math.factorial(n):
        raise ValueError(f"expected 0 <= i < n! = {math.factorial(n)}, got i={i}")
    pool = list(range(n))
    out = []
    for _ in range(n):
        j = i % len(pool)
        i = i // len(pool)
        out.append(pool.pop(j))
    return tuple(out)


def to_int(p: TY_PERM) -> int:
    """The index of a permutation, inverse of :func:`from_int`.

    Parameters
    ----------
    p : tuple of int

    Returns
    -------
    int

    Examples
    --------
    >>> from e3torch.math.perm import to_int
    >>> to_int((2, 0, 1))
    2
    """
    _check_perm(p)
    pool = list(range(len(p)))
    digits = []
    for j in p:
        digits.append((pool.index(j), len(pool)))
        pool.remove(j)
    i = 0
    for digit, radix in reversed(digits):
        i = i * radix + digit
    return i


def rand(n: int) -> TY_PERM:
    """A uniformly random permutation of ``n`` elements (drawn with Python's :mod:`random` module).

    Parameters
    ----------
    n : int

    Returns
    -------
    tuple of int

    Examples
    --------
    >>> from e3torch.math.perm import rand, is_perm
    >>> is_perm(rand(5))
    True
    """
    return from_int(random.randint(0, math.factorial(n) - 1), n)


def group(n: int) -> Set[TY_PERM]:
    r"""All the permutations of ``n`` elements, the symmetric group :math:`S_n`.

    Parameters
    ----------
    n : int

    Returns
    -------
    set of tuple of int

    Examples
    --------
    >>> from e3torch.math.perm import group
    >>> sorted(group(3))
    [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]
    """
    return {from_int(i, n) for i in range(math.factorial(n))}


def germinate(subset: Set[TY_PERM]) -> Set[TY_PERM]:
    """Closure of a set of permutations under composition: the group it generates (empty for an empty set).

    Parameters
    ----------
    subset : set of tuple of int

    Returns
    -------
    set of tuple of int

    Examples
    --------
    >>> from e3torch.math.perm import germinate
    >>> sorted(germinate({(1, 2, 0)}))
    [(0, 1, 2), (1, 2, 0), (2, 0, 1)]
    """
    result = set(subset)
    for p in result:
        _check_perm(p)
    frontier = set(result)
    while frontier:
        new = {compose(p1, p2) for p1 in frontier for p2 in result} | {compose(p1, p2) for p1 in result for p2 in frontier}
        frontier = new - result
        result |= frontier
    return result


def is_group(g: Set[TY_PERM]) -> bool:
    """Whether a set of permutations is a group (non-empty, with the identity, closed under composition and inverse).

    Parameters
    ----------
    g : set of tuple of int

    Returns
    -------
    bool

    Examples
    --------
    >>> from e3torch.math.perm import is_group
    >>> is_group({(0, 1, 2), (1, 0, 2)}), is_group({(1, 0, 2)}), is_group(set())
    (True, False, False)
    """
    if len(g) == 0:
        return False
    n = len(next(iter(g)))
    if any(not is_perm(p) or len(p) != n for p in g):
        return False
    if identity(n) not in g:
        return False
    return all(inverse(p) in g for p in g) and all(compose(p1, p2) in g for p1 in g for p2 in g)


def to_cycles(p: TY_PERM) -> Set[Tuple[int, ...]]:
    """Decomposition into disjoint cycles of length at least 2, each starting from its smallest element.

    Parameters
    ----------
    p : tuple of int

    Returns
    -------
    set of tuple of int

    Examples
    --------
    >>> from e3torch.math.perm import to_cycles
    >>> sorted(to_cycles((1, 2, 0, 4, 3, 5)))
    [(0, 1, 2), (3, 4)]
    """
    _check_perm(p)
    seen = set()
    cycles = set()
    for start in range(len(p)):
        if start in seen:
            continue
        cycle = [start]
        seen.add(start)
        j = p[start]
        while j != start:
            cycle.append(j)
            seen.add(j)
            j = p[j]
        if len(cycle) >= 2:
            cycles.add(tuple(cycle))
    return cycles


def sign(p: TY_PERM) -> int:
    """The signature of a permutation: +1 if even, -1 if odd.

    Parameters
    ----------
    p : tuple of int

    Returns
    -------
    int

    Examples
    --------
    >>> from e3torch.math.perm import sign
    >>> sign((1, 0, 2)), sign((1, 2, 0))
    (-1, 1)
    """
    s = 1
    for cycle in to_cycles(p):
        if len(cycle) % 2 == 0:
            s = -s
    return s


def natural_representation(
    p: TY_PERM, dtype: Optional[torch.dtype] = None, device: Optional[torch.device] = None
) -> torch.Tensor:
    r"""Natural representation of :math:`S_n`: the permutation matrix :math:`M` with :math:`M e_i = e_{p[i]}`.

    Parameters
    ----------
    p : tuple of int
    dtype : `torch.dtype`, optional
    device : `torch.device`, optional

    Returns
    -------
    `torch.Tensor`
        matrix of shape :math:`(n, n)`

    Examples
    --------
    >>> from e3torch.math.perm import natural_representation
    >>> natural_representation((1, 2, 0))
    tensor([[0., 0., 1.],
            [1., 0., 0.],
            [0., 1., 0.]])
    """
    _check_perm(p)
    n = len(p)
    out = torch.zeros(n, n, dtype=dtype, device=device)
    out[list(p), list(range(n))] = 1
    return out


def standard_representation(
    p: TY_PERM, dtype: Optional[torch.dtype] = None, device: Optional[torch.device] = None
) -> torch.Tensor:
    r"""Standard representation of :math:`S_n`, the irreducible representation of dimension :math:`n - 1`.

    It is the natural representation restricted to the orthogonal complement of :math:`(1, \dots, 1)`, written in
    the basis given by :func:`complete_basis` (computed in float64).

    Parameters
    ----------
    p : tuple of int
    dtype : `torch.dtype`, optional
    device : `torch.device`, optional

    Returns
    -------
    `torch.Tensor`
        matrix of shape :math:`(n - 1, n - 1)`

    Examples
    --------
    >>> from e3torch.math.perm import standard_representation
    >>> standard_representation((1, 0))
    tensor([[-1.]])
    >>> standard_representation((1, 2, 0)).round(decimals=4)
    tensor([[-0.5000, -0.8660],
            [ 0.8660, -0.5000]])
    """
    _check_perm(p)
    n = len(p)
    if n == 0:
        return torch.zeros(0, 0, dtype=dtype, device=device)
    ones = torch.ones(1, n, dtype=torch.float64) / math.sqrt(n)
    basis = complete_basis(ones)
    rep = basis @ natural_representation(p, dtype=torch.float64) @ basis.T
    return rep.to(dtype=dtype if dtype is not None else torch.get_default_dtype(), device=device)
