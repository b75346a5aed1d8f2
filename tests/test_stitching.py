"""Tests of repalign_edu.stitching: closed forms, identities and the paper's bounds."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from repalign_edu import kernel_alignment, stitching as st
from repalign_edu.data import untrained_network


def _rng(seed=0):
    return np.random.default_rng(seed)


def _invertible(rng, d, cond=100.0):
    Q1, _ = np.linalg.qr(rng.normal(size=(d, d)))
    Q2, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return (Q1 * np.logspace(0, np.log10(cond), d)) @ Q2


def _trace_formula(F1, F2):
    """Tr S22 - Tr S21 S11^+ S12 with uncentred second moments (the paper's form)."""
    n = len(F1)
    S11, S12, S22 = F1.T @ F1 / n, F1.T @ F2 / n, F2.T @ F2 / n
    return np.trace(S22) - np.trace(S12.T @ np.linalg.pinv(S11) @ S12)


# ---------------------------------------------------------------- fit_linear_stitch
def test_affine_map_recovered_exactly_with_bias():
    rng = _rng(1)
    X = rng.normal(size=(200, 5))
    A = rng.normal(size=(5, 3))
    b = np.array([1.0, -2.0, 0.5])
    stitch = st.fit_linear_stitch(X, X @ A + b, bias=True)
    assert stitch.S.shape == (3, 5) and stitch.b.shape == (3,)
    np.testing.assert_allclose(stitch.S, A.T, atol=1e-12)
    np.testing.assert_allclose(stitch.b, b, atol=1e-12)
    np.testing.assert_allclose(stitch(X), X @ A + b, atol=1e-12)
    assert st.stitching_misalignment(X, X @ A + b, bias=True) < 1e-24


def test_linear_map_without_bias_and_zero_bias():
    rng = _rng(2)
    X = rng.normal(size=(100, 4))
    A = rng.normal(size=(4, 6))
    stitch = st.fit_linear_stitch(X, X @ A)
    np.testing.assert_allclose(stitch.S, A.T, atol=1e-12)
    assert np.all(stitch.b == 0) and stitch.ridge == 0.0


def test_bias_false_cannot_absorb_a_translation():
    rng = _rng(3)
    X = rng.normal(size=(300, 3))
    Y = X + 5.0
    assert st.stitching_misalignment(X, Y) > 1.0
    assert st.stitching_misalignment(X, Y, bias=True) < 1e-20


def test_ridge_closed_form():
    rng = _rng(4)
    F1, F2 = rng.normal(size=(80, 6)), rng.normal(size=(80, 3))
    lam = 0.3
    n = len(F1)
    S11, S21 = F1.T @ F1 / n, F2.T @ F1 / n
    expected = np.linalg.solve(S11 + lam * np.eye(6), S21.T).T   # S21 (S11 + lam I)^{-1}
    np.testing.assert_allclose(st.fit_linear_stitch(F1, F2, ridge=lam).S, expected, atol=1e-12)
    R = F2 - F1 @ expected.T
    assert st.stitching_misalignment(F1, F2, ridge=lam) == pytest.approx(np.mean(np.sum(R**2, 1)), rel=1e-12)


# ---------------------------------------------------------------- A~_2
def test_misalignment_zero_for_linear_function():
    rng = _rng(5)
    F1 = rng.normal(size=(150, 8))
    B = rng.normal(size=(5, 8))
    F2 = F1 @ B.T                           # f_2 = B f_1
    assert st.stitching_misalignment(F1, F2) <= 1e-24 * np.mean(np.sum(F2**2, 1))


def test_misalignment_matches_trace_formula_and_residual():
    rng = _rng(6)
    F1 = rng.normal(size=(120, 5))
    F2 = np.tanh(F1 @ rng.normal(size=(5, 4))) + 0.3 * rng.normal(size=(120, 4))
    A2 = st.stitching_misalignment(F1, F2)
    assert A2 == pytest.approx(_trace_formula(F1, F2), rel=1e-10)
    S = st.fit_linear_stitch(F1, F2).S
    assert A2 == pytest.approx(np.mean(np.sum((F1 @ S.T - F2) ** 2, 1)), rel=1e-12)
    # it is the minimum: any perturbation of S does worse
    for _ in range(5):
        Sp = S + 1e-2 * rng.normal(size=S.shape)
        assert np.mean(np.sum((F1 @ Sp.T - F2) ** 2, 1)) > A2


def test_misalignment_spectral_form_with_square():
    """A~_2 = ||I||^2_{eta_2} - ||C||^2_{eta_2} (the erratum: the first norm is squared)."""
    rng = _rng(7)
    n = 400
    F1 = rng.normal(size=(n, 4)) @ rng.normal(size=(4, 4))
    F2 = F1[:, :3] @ rng.normal(size=(3, 3)) + 0.5 * rng.normal(size=(n, 3))
    eta1, U1 = np.linalg.eigh(F1.T @ F1 / n)
    eta2, U2 = np.linalg.eigh(F2.T @ F2 / n)
    C = np.diag(eta1 ** -0.5) @ U1.T @ (F1.T @ F2 / n) @ U2 @ np.diag(eta2 ** -0.5)
    spectral = eta2.sum() - np.sum(C**2 * eta2[None, :])
    A2 = st.stitching_misalignment(F1, F2)
    assert A2 == pytest.approx(spectral, rel=1e-9)
    # the printed (unsquared) ||I||_{eta_2} = sqrt(sum eta_2) gives a different number
    assert abs(np.sqrt(eta2.sum()) - np.sum(C**2 * eta2[None, :]) - A2) > 0.1


def test_misalignment_invariant_to_invertible_reparametrisation():
    rng = _rng(8)
    F1 = np.maximum(rng.normal(size=(200, 10)), 0)
    F2 = np.maximum(F1 @ rng.normal(size=(10, 7)), 0) + 0.1 * rng.normal(size=(200, 7))
    B = _invertible(rng, 10, cond=1e3)
    A_before, A_after = st.stitching_misalignment(F1, F2), st.stitching_misalignment(F1 @ B, F2)
    assert A_after == pytest.approx(A_before, rel=1e-9)
    # ... while kernel alignment changes (Remark 4), and ridge breaks the invariance
    assert abs(kernel_alignment(F1 @ B, F2) - kernel_alignment(F1, F2)) > 1e-3
    r_before = st.stitching_misalignment(F1, F2, ridge=0.1)
    r_after = st.stitching_misalignment(F1 @ B, F2, ridge=0.1)
    assert abs(r_after - r_before) > 1e-3 * r_before


def test_rank_deficient_F1():
    rng = _rng(9)
    base = rng.normal(size=(100, 3))
    F1 = np.hstack([base, base @ rng.normal(size=(3, 4)), np.zeros((100, 2))])   # rank 3 of 9
    assert np.linalg.matrix_rank(F1) == 3
    F2 = base @ rng.normal(size=(3, 5)) + 0.2 * rng.normal(size=(100, 5))
    A2 = st.stitching_misalignment(F1, F2)
    assert np.isfinite(A2) and A2 >= 0
    # the same as regressing on the 3 independent columns only
    assert A2 == pytest.approx(st.stitching_misalignment(base, F2), rel=1e-10)
    assert A2 == pytest.approx(_trace_formula(F1, F2), rel=1e-8)
    # the stitcher is the minimum-norm one: zero weight on the all-zero columns
    stitch = st.fit_linear_stitch(F1, F2)
    assert np.all(stitch.S[:, -2:] == 0) or np.allclose(stitch.S[:, -2:], 0, atol=1e-12)
    np.testing.assert_allclose(stitch.S, F2.T @ np.linalg.pinv(F1).T, atol=1e-10)


def test_misalignment_more_features_than_samples():
    rng = _rng(10)
    F1, F2 = rng.normal(size=(10, 30)), rng.normal(size=(10, 4))
    # d1 > n: f_1 interpolates any target exactly
    assert st.stitching_misalignment(F1, F2) < 1e-20


@settings(max_examples=30, deadline=None)
@given(seed=hst.integers(0, 10_000), n=hst.integers(5, 60), d1=hst.integers(1, 8), d2=hst.integers(1, 8))
def test_misalignment_bounded_by_trace_and_nonnegative(seed, n, d1, d2):
    rng = _rng(seed)
    F1, F2 = rng.normal(size=(n, d1)), rng.normal(size=(n, d2))
    A2 = st.stitching_misalignment(F1, F2)
    assert 0 <= A2 <= np.mean(np.sum(F2**2, 1)) * (1 + 1e-12)


# ---------------------------------------------------------------- Theorem 1
def test_theorem1_bound_formula():
    assert st.theorem1_bound(0.04, 0.09, 2.0) == pytest.approx((0.2 + 2 * 0.3) ** 2)
    assert st.theorem1_bound(0.3, 0.0, 5.0) == pytest.approx(0.3)
    R2, A2, k = 0.1, 0.7, 1.3
    expanded = R2 + k**2 * A2 + 2 * k * np.sqrt(A2 * R2)
    assert st.theorem1_bound(R2, A2, k) == pytest.approx(expanded, rel=1e-14)
    assert st.theorem2_bound(R2, A2, k) == pytest.approx(expanded - R2, rel=1e-13)


def test_theorem1_bound_holds_for_linear_head():
    rng = _rng(11)
    n, d1, d2, t = 500, 6, 5, 3
    X = rng.normal(size=(n, 8))
    F1 = np.tanh(X @ rng.normal(size=(8, d1)))
    F2 = X @ rng.normal(size=(8, d2)) / 3
    W2 = rng.normal(size=(t, d2))
    Y = F2 @ W2.T + 0.3 * rng.normal(size=(n, t))
    head = st.linear_head(W2)
    assert head.kappa == pytest.approx(np.linalg.svd(W2, compute_uv=False)[0])
    res = st.stitching_risk(F1, F2, head, Y)
    assert res.misalignment == pytest.approx(st.stitching_misalignment(F1, F2), rel=1e-12)
    assert res.risk_stitched <= res.minkowski_bound * (1 + 1e-12) <= res.bound * (1 + 1e-12)
    assert res.holds and res.kappa_effective <= head.kappa * (1 + 1e-12)
    assert res.bound == pytest.approx(st.theorem1_bound(res.risk_model2, res.misalignment, head.kappa))


def test_theorem1_tight_for_isometric_head_and_zero_noise():
    """g_2 an isometry and y = g_2(f_2): the stitched risk equals kappa^2 A~_2 = the bound."""
    rng = _rng(12)
    F1 = rng.normal(size=(300, 4))
    F2 = F1[:, :3] + 0.5 * rng.normal(size=(300, 3))
    Q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    head = st.linear_head(2.0 * Q)
    res = st.stitching_risk(F1, F2, head, head(F2))
    assert res.risk_model2 < 1e-25
    assert res.risk_stitched == pytest.approx(res.bound, rel=1e-10)
    assert res.risk_stitched == pytest.approx(4.0 * st.stitching_misalignment(F1, F2), rel=1e-10)


def test_theorem1_holds_for_zoo_head_any_stitcher():
    net2 = untrained_network(16, seed=1)
    net1 = untrained_network(12, seed=2)
    rng = _rng(13)
    X = rng.uniform(0, 1, size=(200, 64))
    y = rng.integers(0, 10, size=200)
    F1, F2 = net1.representation(X), net2.representation(X)
    head = st.zoo_head(net2)
    assert head.kappa == pytest.approx(0.5 * np.linalg.norm(net2.coefs[1], 2))
    for stitcher in (None, st.fit_linear_stitch(F1[:100], F2[:100]), st.fit_linear_stitch(F1, F2, ridge=1.0)):
        res = st.stitching_risk(F1, F2, head, y, stitcher)
        assert res.holds
        assert res.risk_stitched <= res.minkowski_bound * (1 + 1e-12)
        assert res.kappa_effective <= head.kappa
        assert 0 <= res.accuracy_stitched <= 1


# ---------------------------------------------------------------- Lipschitz constants
def test_softmax_lipschitz_constant_is_one_half():
    rng = _rng(14)
    worst = 0.0
    for _ in range(300):
        z = rng.normal(scale=rng.uniform(0.1, 5), size=10)
        p = np.exp(z - z.max()); p /= p.sum()
        J = np.diag(p) - np.outer(p, p)
        worst = max(worst, np.linalg.norm(J, 2))
    assert worst <= st.SOFTMAX_LIPSCHITZ
    # sharp: two equal logits far above the rest
    z = np.array([30.0, 30.0] + [0.0] * 8)
    p = np.exp(z - z.max()); p /= p.sum()
    assert np.linalg.norm(np.diag(p) - np.outer(p, p), 2) == pytest.approx(0.5, abs=1e-10)


def test_head_lipschitz_product_of_spectral_norms_and_empirical():
    net = untrained_network(20, seed=3, depth=3)
    norms = [np.linalg.norm(W, 2) for W in net.coefs]
    assert st.head_lipschitz(net, 1, "logits") == pytest.approx(np.prod(norms[1:]))
    assert st.head_lipschitz(net, 2, "logits") == pytest.approx(np.prod(norms[2:]))
    assert st.head_lipschitz(net, None, "proba") == pytest.approx(0.5 * norms[3])
    rng = _rng(15)
    for layer in (1, 2, 3):
        for output in ("proba", "logits"):
            head = st.zoo_head(net, layer, output)
            Z = np.abs(rng.normal(size=(300, 20)))
            Zp = Z + 0.1 * rng.normal(size=Z.shape)
            ratio = np.linalg.norm(head(Z) - head(Zp), axis=1) / np.linalg.norm(Z - Zp, axis=1)
            assert ratio.max() <= head.kappa
    # exact for a single linear layer on logits: attained along the top right singular vector
    W = net.coefs[3]
    _, _, Vt = np.linalg.svd(W.T)
    head = st.zoo_head(net, 3, "logits")
    z = np.ones((1, 20))
    ratio = np.linalg.norm(head(z + Vt[:1]) - head(z)) / np.linalg.norm(Vt[0])
    assert ratio == pytest.approx(head.kappa, rel=1e-12)


def test_zoo_head_matches_entry_head():
    net = untrained_network(8, seed=4, depth=2)
    Z = np.abs(_rng(16).normal(size=(5, 8)))
    np.testing.assert_allclose(st.zoo_head(net, 1)(Z), net.head(Z, 1))
    np.testing.assert_allclose(st.zoo_head(net, 2, "logits")(Z), net.head_logits(Z, 2))


# ---------------------------------------------------------------- Lemma 2
def _lemma2_setup(seed=17):
    rng = _rng(seed)
    n, d1, d2, t = 400, 7, 9, 4
    F1 = rng.normal(size=(n, d1))
    F2 = np.tanh(rng.normal(size=(n, d2)))
    y = rng.integers(0, t, size=n)
    return F1, F2, y


def test_lemma2_equality_full_rank_W2():
    F1, F2, y = _lemma2_setup()
    H1, H2 = st.fit_linear_head(F1, y), st.fit_linear_head(F2, y)
    assert np.linalg.matrix_rank(H2.W) == 4
    R1 = st.square_risk(H1(F1), y)
    S = st.fit_task_stitch(F1, H2, y)
    R12 = st.square_risk(H2(S(F1)), y)
    assert R12 == pytest.approx(R1, rel=1e-10)
    assert st.lemma2_gap(F1, H1.W, H2.W) < 1e-20
    # no linear stitcher does better than R_1(H_1) (Lemma 3 with linear heads)
    rng = _rng(18)
    for _ in range(5):
        Sp = S.S + 0.05 * rng.normal(size=S.S.shape)
        assert st.square_risk(H2(F1 @ Sp.T), y) >= R1


def test_lemma2_fails_when_rank_W2_below_t():
    F1, F2, y = _lemma2_setup(19)
    H1, H2 = st.fit_linear_head(F1, y), st.fit_linear_head(F2, y)
    U, s, Vt = np.linalg.svd(H2.W, full_matrices=False)
    W2 = (U[:, :2] * s[:2]) @ Vt[:2]                   # rank 2 < t = 4
    H2r = st.linear_head(W2)
    R1 = st.square_risk(H1(F1), y)
    R12 = st.square_risk(H2r(st.fit_task_stitch(F1, H2r, y)(F1)), y)
    gap = st.lemma2_gap(F1, H1.W, W2)
    assert gap > 1e-3
    assert R12 == pytest.approx(R1 + gap, rel=1e-10)


def test_fit_task_stitch_with_head_bias():
    F1, F2, y = _lemma2_setup(20)
    b2 = np.arange(4.0)
    H2 = st.linear_head(st.fit_linear_head(F2, y).W, b=b2)
    R12 = st.square_risk(H2(st.fit_task_stitch(F1, H2, y)(F1)), y)
    # the stitched model is W_2 S f_1 + b_2: the best readout of y - b_2 from f_1, shifted back
    Y = st.one_hot(y, 4)
    H1 = st.fit_linear_head(F1, Y - b2)
    assert R12 == pytest.approx(st.square_risk(H1(F1), Y - b2), rel=1e-10)


# ---------------------------------------------------------------- Remark 6
def test_remark6_bound_minimum_over_layers():
    bound, per_layer, best = st.remark6_bound(0.1, [0.5, 0.2, 0.4], [1.0, 3.0, 0.5])
    expected = [st.theorem2_bound(0.1, a, k) for a, k in [(0.5, 1.0), (0.2, 3.0), (0.4, 0.5)]]
    np.testing.assert_allclose(per_layer, expected)
    assert best == 2 and bound == pytest.approx(min(expected))
    two = st.remark6_two_sided_bound(0.2, 0.1, 0.3, 0.5, 1.5, 1.0)
    assert two == pytest.approx(max(st.theorem2_bound(0.2, 0.3, 1.5), st.theorem2_bound(0.1, 0.5, 1.0)))


# ---------------------------------------------------------------- risks and heads
def test_square_risk_and_one_hot():
    P = np.array([[0.5, 0.5], [1.0, 0.0]])
    assert st.square_risk(P, np.array([0, 0])) == pytest.approx((0.25 + 0.25 + 0) / 2)
    assert st.square_risk(P, np.array([[1.0, 0.0], [1.0, 0.0]])) == pytest.approx(0.25)
    np.testing.assert_array_equal(st.one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])


def test_fit_linear_head_with_bias_is_ols():
    rng = _rng(21)
    F = rng.normal(size=(100, 3))
    Y = F @ rng.normal(size=(3, 2)) + np.array([1.0, -1.0])
    head = st.fit_linear_head(F, Y, bias=True)
    np.testing.assert_allclose(head(F), Y, atol=1e-12)
    assert head.exact and head.is_linear and head.W.shape == (2, 3)


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "call, word",
    [
        (lambda F: st.fit_linear_stitch(F, F[:-1]), "F1 and F2"),
        (lambda F: st.fit_linear_stitch(F[:, 0], F), "F1"),
        (lambda F: st.fit_linear_stitch(F, np.full_like(F, np.nan)), "F2"),
        (lambda F: st.fit_linear_stitch(F, F, ridge=-1.0), "ridge"),
        (lambda F: st.fit_linear_stitch(F, F, ridge="big"), "ridge"),
        (lambda F: st.fit_linear_stitch(F, F, bias=1), "bias"),
        (lambda F: st.stitching_misalignment(F, F[:3]), "F1 and F2"),
        (lambda F: st.stitching_misalignment(F[:1], F[:1]), "F1"),
        (lambda F: st.stitching_misalignment(F, F.astype(str)), "F2"),
        (lambda F: st.theorem1_bound(-0.1, 0.2, 1.0), "R2"),
        (lambda F: st.theorem1_bound(0.1, np.nan, 1.0), "A2"),
        (lambda F: st.theorem1_bound(0.1, 0.2, "one"), "kappa2"),
        (lambda F: st.remark6_bound(0.1, [0.1, 0.2], [1.0]), "A2_layers"),
        (lambda F: st.remark6_bound(0.1, [], []), "A2_layers"),
        (lambda F: st.square_risk(F, np.array([0, 1])), "targets"),
        (lambda F: st.square_risk(F, np.full(len(F), 9)), "labels"),
        (lambda F: st.stitching_risk(F, F, "head", np.zeros(len(F), int)), "head2"),
        (lambda F: st.stitching_risk(F, F, st.linear_head(np.ones((2, 7))), np.zeros(len(F), int)), "head2"),
        (lambda F: st.fit_task_stitch(F, st.zoo_head(untrained_network(3)), np.zeros(len(F), int)), "linear"),
        (lambda F: st.head_lipschitz(untrained_network(3), layer=2), "layer"),
        (lambda F: st.head_lipschitz(untrained_network(3), output="probs"), "output"),
        (lambda F: st.head_lipschitz(F), "entry"),
        (lambda F: st.linear_head(np.ones((2, 3)), b=np.ones(3)), "b"),
        (lambda F: st.lemma2_gap(F, np.ones((2, 4)), np.ones((2, 3))), "W1"),
    ],
)
def test_bad_input_raises_naming_the_argument(call, word):
    F = _rng(22).normal(size=(6, 3))
    with pytest.raises(ValueError, match=word):
        call(F)


def test_stitcher_checks_its_input_dimension():
    F = _rng(23).normal(size=(10, 3))
    stitch = st.fit_linear_stitch(F, F[:, :2])
    with pytest.raises(ValueError, match="d1=3"):
        stitch(F[:, :2])
    with pytest.raises(ValueError, match="stitcher"):
        st.stitching_risk(F[:, :2], F[:, :2], st.linear_head(np.eye(2)), F[:, :2], stitcher=stitch)
