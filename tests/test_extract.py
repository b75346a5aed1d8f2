"""repalign_edu.extract: activations from small torch models built here (nothing downloaded)."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="torch is not installed: `make test` installs the CPU wheel found in "
    "PIP_FIND_LINKS (none was found), or install it with pip install 'repalign-edu[torch]'")
nn = torch.nn

from repalign_edu import extract  # noqa: E402
from repalign_edu.io import load_layers  # noqa: E402


def n_hooks(model):
    return sum(len(m._forward_hooks) for m in model.modules())


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(6, 5)
        self.act = nn.Tanh()

    def forward(self, x):
        return self.act(self.lin(x))


class Nested(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), Block())
        self.head = nn.Linear(5, 3)

    def forward(self, x):
        return self.head(self.encoder(x))


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 3, 3, padding=1)
        self.conv2 = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 8 * 8, 2)

    def forward(self, x):
        h = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        return self.fc(h.flatten(1))


@pytest.fixture()
def seq():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3))


def test_sequential_matches_manual_forward_and_batches(seq):
    x = torch.randn(37, 4)
    acts = extract.activations(seq, x, ["0", "3"], batch_size=10)
    with torch.no_grad():
        h = seq[0](x)
        out = seq[3](seq[1](h))  # dropout is off in eval mode
    np.testing.assert_allclose(acts["0"], h.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(acts["3"], out.numpy(), rtol=1e-6, atol=1e-6)
    assert list(acts) == ["0", "3"] and acts["0"].dtype == np.float32
    assert n_hooks(seq) == 0
    assert seq.training  # train mode restored


def test_numpy_and_dataloader_inputs_give_the_same(seq):
    x = np.random.default_rng(0).normal(size=(25, 4))
    a = extract.activations(seq, x, "1")
    ds = torch.utils.data.TensorDataset(torch.from_numpy(x.astype(np.float32)), torch.zeros(25))
    b = extract.activations(seq, torch.utils.data.DataLoader(ds, batch_size=7), "1")
    np.testing.assert_allclose(a["1"], b["1"], rtol=1e-6, atol=1e-7)
    assert a["1"].shape == (25, 8)


def test_nested_modules_by_name():
    torch.manual_seed(1)
    net = Nested()
    x = torch.randn(12, 4)
    acts = extract.activations(net, x, ["encoder.2.lin", "encoder.2", "head"])
    with torch.no_grad():
        z = net.encoder[1](net.encoder[0](x))
        lin = net.encoder[2].lin(z)
    np.testing.assert_allclose(acts["encoder.2.lin"], lin.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(acts["encoder.2"], torch.tanh(lin).numpy(), rtol=1e-6, atol=1e-6)
    assert acts["head"].shape == (12, 3)
    assert n_hooks(net) == 0


def test_cnn_pooling_of_conv_maps():
    torch.manual_seed(2)
    net = SmallCNN()
    x = torch.randn(9, 1, 8, 8)
    mean = extract.activations(net, x, ["conv1", "conv2"], pooling="mean")
    flat = extract.activations(net, x, ["conv2"], pooling="flatten")
    with torch.no_grad():
        c1 = net.conv1(x)
    assert mean["conv1"].shape == (9, 3) and mean["conv2"].shape == (9, 4)
    np.testing.assert_allclose(mean["conv1"], c1.mean(dim=(2, 3)).numpy(), rtol=1e-5, atol=1e-6)
    assert flat["conv2"].shape == (9, 4 * 8 * 8)
    np.testing.assert_allclose(flat["conv2"].reshape(9, 4, 8, 8).mean(axis=(2, 3)), mean["conv2"],
                               rtol=1e-5, atol=1e-6)
    custom = extract.activations(net, x, "conv1", pooling=lambda t: t.amax(dim=(2, 3)))
    np.testing.assert_allclose(custom["conv1"], c1.amax(dim=(2, 3)).numpy(), rtol=1e-6, atol=1e-6)


def test_tokens_mean_and_cls():
    class Tok(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 4)

        def forward(self, ids):
            return self.emb(ids)

    net = Tok()
    ids = torch.randint(0, 10, (6, 5))
    m = extract.activations(net, ids, "emb", pooling="mean")["emb"]
    c = extract.activations(net, ids, "emb", pooling="cls")["emb"]
    with torch.no_grad():
        e = net.emb(ids)
    np.testing.assert_allclose(m, e.mean(dim=1).numpy(), rtol=1e-6)
    np.testing.assert_allclose(c, e[:, 0].numpy(), rtol=1e-6)


def test_hooks_removed_even_on_error(seq):
    with pytest.raises(RuntimeError):
        extract.activations(seq, torch.randn(5, 7), ["0"])  # wrong input width: the forward fails
    assert n_hooks(seq) == 0 and seq.training
    with pytest.raises(ValueError, match="pooling='cls'"):
        extract.activations(SmallCNN(), torch.randn(2, 1, 8, 8), ["conv1"], pooling="cls")


def test_clear_errors(seq):
    with pytest.raises(ValueError, match=r"no module named 'fc'.*valid layer names: 0, 1, 2, 3"):
        extract.activations(seq, torch.randn(3, 4), ["fc"])
    with pytest.raises(ValueError, match="layers is empty"):
        extract.activations(seq, torch.randn(3, 4), [])
    with pytest.raises(ValueError, match="unknown pooling 'max'"):
        extract.activations(seq, torch.randn(3, 4), "0", pooling="max")
    with pytest.raises(ValueError, match="batch_size"):
        extract.activations(seq, torch.randn(3, 4), "0", batch_size=0)
    with pytest.raises(ValueError, match="torch.nn.Module"):
        extract.activations(lambda x: x, torch.randn(3, 4), "0")
    with pytest.raises(ValueError, match="inputs must be a tensor"):
        extract.activations(seq, 3.0, "0")
    shared = nn.Linear(4, 4)
    twice = nn.Sequential(shared, nn.ReLU(), shared)
    with pytest.raises(ValueError, match="ran 2 times"):
        extract.activations(twice, torch.randn(3, 4), "0")
    assert n_hooks(twice) == 0 and n_hooks(seq) == 0


def test_save_npz_reads_back(seq, tmp_path):
    acts = extract.activations(seq, torch.randn(20, 4), ["0", "1", "3"])
    path = tmp_path / "acts.npz"
    extract.save_npz(path, acts)
    layers, notes = load_layers(path)
    assert list(layers) == ["0", "1", "3"] and notes == ()
    for k in acts:
        np.testing.assert_array_equal(layers[k], acts[k])
    with np.load(path) as z:
        np.testing.assert_array_equal(z["3"], acts["3"])
    with pytest.raises(ValueError, match="different numbers of rows"):
        extract.save_npz(tmp_path / "bad.npz", {"a": np.zeros((3, 2)), "b": np.zeros((4, 2))})
    with pytest.raises(ValueError, match="shape \\(n, d\\)"):
        extract.save_npz(tmp_path / "bad.npz", {"a": np.zeros(3)})
