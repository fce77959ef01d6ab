import importlib.util
from pathlib import Path

import torch

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tetris.py"


def _load():
    spec = importlib.util.spec_from_file_location("tetris_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shapes_and_chirality():
    tetris = _load()
    pos, batch, labels = tetris.tetris(torch.float64)
    assert pos.shape == (32, 3) and labels.tolist() == list(range(8))
    a, b = pos[batch == 0], pos[batch == 1]
    # the chiral pair are mirror images: reflecting one through y gives the other's point set
    mirrored = a * torch.tensor([1.0, -1.0, 1.0], dtype=torch.float64)
    assert sorted(map(tuple, mirrored.tolist())) == sorted(map(tuple, b.tolist()))


def test_trains_to_full_accuracy_on_rotated_shapes():
    tetris = _load()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: one thread is fastest, and pytest -n 2 runs two workers
    try:
        model, acc = tetris.train(steps=100, seed=0, verbose=False)
    finally:
        torch.set_num_threads(threads)
    assert acc == 1.0
    # a reflection swaps the chiral pair's predictions (the pseudoscalar output changes sign)
    pos, batch, labels = tetris.tetris()
    with torch.no_grad():
        pred = model(-pos, batch).argmax(1)
    assert pred[:2].tolist() == [1, 0] and pred[2:].tolist() == labels[2:].tolist()
