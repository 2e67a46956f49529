"""Driver types from a stated-preference survey (CONSENT Sec. 5, "User choice and inconvenience cost").

A survey CSV has one row per respondent x scenario and the columns

``respondent``
    Any label; the rows of one respondent need not be adjacent.
``soc_reduction_pct``
    SoC given up in the scenario [percentage points, 0..100].
``delay_min``
    How much later than requested the car may leave [minutes, >= 0].
``required_discount_usd``
    The discount the respondent needs to accept that scenario [$, >= 0].

Other columns are ignored. The pipeline is three pure steps:

1. :func:`fit_respondent_weights`: per respondent, non-negative least squares of
   ``required_discount = w1 x soc_reduction_pct + w2 x delay_min`` (no intercept:
   no deviation costs nothing), giving w1 [$ per point] and w2 [$ per minute];
2. :func:`cluster_types`: k-means of the standardised (w1, w2) into N types;
3. the types' mean and spread of w1, w2 and their shares, as :class:`UserTypes`
   (:func:`type_summary` tabulates them like the paper's "User Types" table).

:func:`synthetic_survey` runs the other way: a survey answered by simulated
respondents drawn from type statistics.

The shipped ``builtin:consent-survey-synthetic`` (``data/consent-survey-synthetic.csv``)
is SYNTHETIC: generated from the paper's published type statistics
(``builtin:consent-survey``), not real survey answers, which are not public. It
was written by::

    v2b survey synthesize --types builtin:consent-survey --respondents 28 --seed 1 \\
        --out src/v2b/users/data/consent-survey-synthetic.csv
"""

from __future__ import annotations

import csv
import io
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.cluster.vq import ClusterError, kmeans2, vq
from scipy.optimize import nnls

from v2b.errors import UserError
from v2b.users.types import BUILTIN_PREFIX, UserType, UserTypes

BUILTIN_SURVEYS = {"consent-survey-synthetic": "consent-survey-synthetic.csv"}

RESPONDENT = "respondent"
SOC = "soc_reduction_pct"
DELAY = "delay_min"
DISCOUNT = "required_discount_usd"
COLUMNS = (RESPONDENT, SOC, DELAY, DISCOUNT)
W1 = "w1_usd_per_pct"
W2 = "w2_usd_per_min"

#: (SoC points given up, minutes of later departure) every synthetic respondent
#: prices: each deviation alone, then the paper's three negotiation options (Sec. 6).
SCENARIOS: tuple[tuple[float, float], ...] = (
    (5.0, 0.0),
    (10.0, 0.0),
    (20.0, 0.0),
    (0.0, 15.0),
    (0.0, 30.0),
    (0.0, 60.0),
    (0.0, 105.0),
    (6.25, 30.0),
    (10.0, 15.0),
    (20.0, 105.0),
)


class SurveyError(UserError):
    """A survey that cannot be used; the message names file, line, column and value."""


def _read_text(source: str) -> str:
    if source.startswith(BUILTIN_PREFIX):
        name = source[len(BUILTIN_PREFIX):]
        if name not in BUILTIN_SURVEYS:
            known = ", ".join(BUILTIN_PREFIX + n for n in BUILTIN_SURVEYS)
            raise SurveyError(f"unknown built-in survey {source!r}; known: {known}")
        return (resources.files("v2b.users.data") / BUILTIN_SURVEYS[name]).read_text()
    try:
        return Path(source).read_text()
    except FileNotFoundError:
        raise SurveyError(f"survey file {source} does not exist") from None
    except IsADirectoryError:
        raise SurveyError(f"survey file {source} is a directory, not a CSV file") from None
    except UnicodeDecodeError as err:
        raise SurveyError(f"{source}: not a text CSV file: {err}") from None


def _survey_cells(source: str) -> pd.DataFrame:
    """The survey's four columns as stripped text, blank lines dropped; index = data line - 2."""
    text = _read_text(source)
    try:
        raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise SurveyError(f"{source}: not a readable CSV file: {err}") from None
    if not isinstance(raw.index, pd.RangeIndex):  # pandas made the surplus leading fields an index
        rows = list(csv.reader(io.StringIO(text)))
        line = next((n for n, row in enumerate(rows[1:], start=2) if len(row) > len(rows[0])), "?")
        raise SurveyError(f"{source}: line {line} has more fields than the header's {len(rows[0])}")
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise SurveyError(
            f"{source}: missing column(s) {', '.join(missing)}; a survey needs {', '.join(COLUMNS)} "
            f"(found: {', '.join(raw.columns)})"
        )
    raw = raw[list(COLUMNS)].apply(lambda col: col.str.strip())
    raw = raw[(raw != "").any(axis=1)]  # blank lines; the index still counts them
    return raw


def read_survey(source: str | Path) -> pd.DataFrame:
    """Read and validate a survey CSV.

    Parameters
    ----------
    source : str or Path
        CSV path, or ``builtin:consent-survey-synthetic``.

    Returns
    -------
    pandas.DataFrame
        Columns ``respondent`` (str), ``soc_reduction_pct`` [points],
        ``delay_min`` [min], ``required_discount_usd`` [$], in file order;
        ``attrs["source"]`` is ``source``.

    Raises
    ------
    SurveyError
        Missing file or column, a cell that is empty, not a number, negative
        (or a SoC reduction above 100), or a respondent with fewer than two
        scenarios; the message names the file, the line, the column and the value.
    """
    source = str(source)
    raw = _survey_cells(source)
    lines = raw.index.to_numpy() + 2  # line 1 is the header
    failures: list[tuple[int, str]] = []

    def fail(mask: np.ndarray, column: str, values: pd.Series, rule: str) -> None:
        if mask.any():
            i = int(np.flatnonzero(mask)[0])
            who = raw[RESPONDENT].iloc[i]
            where = f"line {lines[i]} (respondent {who!r})"
            failures.append((int(lines[i]), f"{where}: column '{column}' = {values.iloc[i]!r}: {rule}"))

    fail((raw[RESPONDENT] == "").to_numpy(), RESPONDENT, raw[RESPONDENT], "is missing")
    out = pd.DataFrame({RESPONDENT: raw[RESPONDENT]})
    for column, high in ((SOC, 100.0), (DELAY, None), (DISCOUNT, None)):
        values = pd.to_numeric(raw[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        empty = (raw[column] == "").to_numpy()
        fail(empty, column, raw[column], "is missing")
        fail(~empty & ~np.isfinite(values), column, raw[column], "is not a number")
        fail(np.isfinite(values) & (values < 0), column, raw[column], "must not be negative")
        if high is not None:
            fail(np.isfinite(values) & (values > high), column, raw[column], f"must be at most {high:g}")
        out[column] = values
    counts = out[RESPONDENT].map(out[RESPONDENT].value_counts()).to_numpy()
    alone = (counts < 2) & (out[RESPONDENT] != "").to_numpy()
    fail(alone, RESPONDENT, raw[RESPONDENT], "has only one scenario; two weights need at least 2")
    if failures:
        raise SurveyError(f"{source}: {min(failures)[1]}")
    if out.empty:
        raise SurveyError(f"{source}: no survey rows after the header")
    out = out.reset_index(drop=True)
    out.attrs["source"] = source
    return out


def fit_respondent_weights(survey: pd.DataFrame) -> pd.DataFrame:
    """Each respondent's inconvenience weights by non-negative least squares.

    Solves, per respondent v, ``min ||A w - I||`` subject to ``w >= 0`` with rows
    ``A_j = (dSoC_j, dt_j)`` and ``I_j`` the required discount: the linear
    inconvenience model ``I = w1 x dSoC + w2 x dt`` without intercept.

    Parameters
    ----------
    survey : pandas.DataFrame
        As returned by :func:`read_survey`.

    Returns
    -------
    pandas.DataFrame
        Indexed by respondent (order of first appearance), columns
        ``w1_usd_per_pct`` [$ per SoC point], ``w2_usd_per_min`` [$ per minute],
        ``scenarios`` (rows used) and ``rmse_usd`` (root-mean-square residual [$]).

    References
    ----------
    CONSENT Sec. 5 (ii): ``I_j^v = w1^v dSoC_j^v + w2^v dt_dep,j^v``.
    """
    design = survey[[SOC, DELAY]].to_numpy(dtype=float)
    target = survey[DISCOUNT].to_numpy(dtype=float)
    groups = survey.groupby(RESPONDENT, sort=False).indices
    weights = np.zeros((len(groups), 2))
    rmse = np.zeros(len(groups))
    sizes = np.zeros(len(groups), dtype=int)
    for k, rows in enumerate(groups.values()):
        weights[k], residual_norm = nnls(design[rows], target[rows])
        sizes[k] = rows.size
        rmse[k] = residual_norm / np.sqrt(rows.size)
    index = pd.Index(list(groups), name=RESPONDENT)
    return pd.DataFrame({W1: weights[:, 0], W2: weights[:, 1], "scenarios": sizes, "rmse_usd": rmse},
                        index=index)


def standardise(x: np.ndarray) -> np.ndarray:
    """Columns shifted to mean 0 and scaled to standard deviation 1 (constant columns only shifted)."""
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def kmeans_labels(
    points: np.ndarray, n_types: int, rng: np.random.Generator, restarts: int = 10
) -> np.ndarray:
    """Best of ``restarts`` k-means++ runs: the labelling with the lowest within-cluster sum of squares.

    Each restart draws from its own child of ``rng`` (``rng.spawn``), so the result
    depends only on the generator's state. Runs that leave a cluster empty are dropped.

    Parameters
    ----------
    points : numpy.ndarray, shape (n, d)
        Observations (already scaled as they should be compared).
    n_types : int
        Number of clusters, 1..(number of distinct points).
    rng : numpy.random.Generator
        Source of every random draw.
    restarts : int
        Independent k-means++ initialisations.

    Returns
    -------
    numpy.ndarray of int, shape (n,)
        Cluster of each point, 0..n_types-1, every cluster non-empty.
    """
    best, best_wcss = None, np.inf
    for child in rng.spawn(restarts):
        try:
            code, _ = kmeans2(points, n_types, iter=100, minit="++", missing="raise", seed=child)
        except ClusterError:
            continue
        labels = vq(points, code)[0]
        counts = np.bincount(labels, minlength=n_types)
        if counts.min() == 0:
            continue
        centres = np.array([points[labels == c].mean(axis=0) for c in range(n_types)])
        wcss = float(((points - centres[labels]) ** 2).sum())
        if wcss < best_wcss:
            best, best_wcss = labels, wcss
    if best is None:
        raise SurveyError(
            f"k-means left a type empty in all {restarts} restarts; ask for fewer than {n_types} types"
        )
    return best


def roman(number: int) -> str:
    """Lower-case Roman numeral of a positive integer (type names: i, ii, iii, iv...)."""
    out = ""
    for value, letters in ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
                           (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
        count, number = divmod(number, value)
        out += letters * count
    return out


def types_from_labels(weights: np.ndarray, labels: np.ndarray, source: str = "") -> UserTypes:
    """Per-cluster mean, spread and share of (w1, w2) as named driver types.

    Types are ordered by decreasing mean time weight w2 (ties: decreasing w1) and
    named ``i``, ``ii``, ``iii``... in that order. Standard deviations use ddof=1
    for a type with at least two members and are 0 for a single member.

    Parameters
    ----------
    weights : numpy.ndarray, shape (n, 2)
        Respondents' (w1 [$ per point], w2 [$ per minute]).
    labels : numpy.ndarray of int, shape (n,)
        Cluster of each respondent, every value in 0..k-1 used.
    source : str
        Provenance stored with the types.
    """
    k = int(labels.max()) + 1
    groups = [weights[labels == c] for c in range(k)]
    means = np.array([g.mean(axis=0) for g in groups])
    order = np.lexsort((-means[:, 0], -means[:, 1]))
    types = []
    for rank, c in enumerate(order):
        members = groups[c]
        sd = members.std(axis=0, ddof=1) if len(members) >= 2 else np.zeros(2)
        types.append(UserType(
            name=roman(rank + 1),
            soc_weight_usd_per_pct=float(means[c, 0]),
            soc_weight_sd=float(sd[0]),
            time_weight_usd_per_min=float(means[c, 1]),
            time_weight_sd=float(sd[1]),
            share=len(members) / len(weights),
        ))
    return UserTypes(tuple(types), source)


def cluster_types(
    weights: np.ndarray | pd.DataFrame,
    n_types: int,
    rng: np.random.Generator,
    *,
    restarts: int = 10,
    source: str = "",
) -> UserTypes:
    """Cluster respondents' weights into ``n_types`` driver types (CONSENT Sec. 5 (ii)).

    k-means on the standardised (w1, w2), so that a $/point and a $/minute weigh
    alike; best of ``restarts`` k-means++ runs (:func:`kmeans_labels`);
    deterministic for a given generator state.

    Parameters
    ----------
    weights : numpy.ndarray of shape (n, 2) or pandas.DataFrame
        (w1 [$ per SoC point], w2 [$ per minute]) per respondent; a DataFrame from
        :func:`fit_respondent_weights` is accepted as is.
    n_types : int
        Number of types N, 1..n (and at most the number of distinct weight pairs).
    rng : numpy.random.Generator
        Source of every random draw.
    restarts : int
        k-means++ initialisations tried.
    source : str
        Provenance stored with the types.

    Returns
    -------
    UserTypes
        Types ordered and named as in :func:`types_from_labels`.

    Raises
    ------
    SurveyError
        ``n_types`` below 1 or above the number of respondents or of distinct weight pairs.
    """
    if isinstance(weights, pd.DataFrame):
        weights = weights[[W1, W2]]
    x = np.asarray(weights, dtype=float).reshape(-1, 2)
    n = len(x)
    if not 1 <= n_types <= n:
        raise SurveyError(f"number of types = {n_types}: must be between 1 and the {n} respondents")
    distinct = len(np.unique(x, axis=0))
    if n_types > distinct:
        raise SurveyError(
            f"number of types = {n_types}: the {n} respondents have only {distinct} distinct (w1, w2) "
            "pairs; ask for at most that many types"
        )
    labels = kmeans_labels(standardise(x), n_types, rng, restarts)
    return types_from_labels(x, labels, source)


def apportion(shares: np.ndarray, total: int) -> np.ndarray:
    """Whole counts summing to ``total`` in proportion to ``shares`` (largest remainder).

    Each part gets ``floor(share x total)``; the units left go to the largest
    remainders, ties to the earlier part. The paper's shares with 28 respondents
    give 3/15/9/1.
    """
    shares = np.asarray(shares, dtype=float)
    exact = shares / shares.sum() * total
    counts = np.floor(exact).astype(int)
    left = total - int(counts.sum())
    counts[np.argsort(-(exact - counts), kind="stable")[:left]] += 1
    return counts


def synthetic_survey(
    types: UserTypes,
    respondents: int,
    rng: np.random.Generator,
    *,
    scenarios: tuple[tuple[float, float], ...] = SCENARIOS,
    noise_usd: float = 0.10,
    step_usd: float = 0.05,
) -> pd.DataFrame:
    """A survey answered by simulated respondents drawn from type statistics.

    Respondents are split over types by :func:`apportion` (in random order);
    each draws w1 and w2 from Normal(type mean, type sd) clipped at 0 and answers
    every scenario with ``w1 x dSoC + w2 x dt`` plus Normal(0, ``noise_usd``) noise,
    rounded to ``step_usd`` as a person would answer and never negative. The
    noise is additive, not relative, on purpose: relative noise on the large
    delay-driven answers would drown the SoC weight in the least-squares fit.

    Parameters
    ----------
    types : UserTypes
        Type means, standard deviations and shares.
    respondents : int
        Number of respondents (>= 1).
    rng : numpy.random.Generator
        Source of every random draw.
    scenarios : tuple of (float, float)
        (SoC points given up, minutes of delay) each respondent prices.
    noise_usd : float
        Standard deviation of an answer around the model value [$].
    step_usd : float
        Answers are rounded to multiples of this [$].

    Returns
    -------
    pandas.DataFrame
        The columns of a survey CSV (:func:`read_survey`), respondent-major.
    """
    if respondents < 1:
        raise SurveyError(f"number of respondents = {respondents}: must be at least 1")
    counts = apportion(types.shares, respondents)
    kind = rng.permutation(np.repeat(np.arange(len(types.types)), counts))
    mean = np.array([[t.soc_weight_usd_per_pct, t.time_weight_usd_per_min] for t in types.types])
    sd = np.array([[t.soc_weight_sd, t.time_weight_sd] for t in types.types])
    w = np.maximum(rng.normal(mean[kind], sd[kind]), 0.0)
    deviation = np.array(scenarios, dtype=float)
    exact = w @ deviation.T  # (respondents, scenarios)
    noisy = np.maximum(exact + noise_usd * rng.standard_normal(exact.shape), 0.0)
    answer = np.round(np.round(noisy / step_usd) * step_usd, 6)
    width = len(str(respondents))
    ids = [f"r{i + 1:0{width}d}" for i in range(respondents)]
    return pd.DataFrame({
        RESPONDENT: np.repeat(ids, len(scenarios)),
        SOC: np.tile(deviation[:, 0], respondents),
        DELAY: np.tile(deviation[:, 1], respondents),
        DISCOUNT: answer.ravel(),
    })


def type_summary(types: UserTypes, respondents: int) -> pd.DataFrame:
    """The types as the paper's "User Types" table (CONSENT Sec. 6).

    Parameters
    ----------
    types : UserTypes
        The types.
    respondents : int
        Respondents behind the types; the per-type counts are apportioned from
        the shares (exact for types fitted by :func:`cluster_types`).

    Returns
    -------
    pandas.DataFrame
        One row per type: ``type``, ``share_pct`` [%], ``w1_mean``, ``w1_sd``
        [$ per SoC point], ``w2_mean``, ``w2_sd`` [$ per minute], ``respondents``.
    """
    return pd.DataFrame({
        "type": list(types.names),
        "share_pct": 100.0 * types.shares,
        "w1_mean": [t.soc_weight_usd_per_pct for t in types.types],
        "w1_sd": [t.soc_weight_sd for t in types.types],
        "w2_mean": [t.time_weight_usd_per_min for t in types.types],
        "w2_sd": [t.time_weight_sd for t in types.types],
        "respondents": apportion(types.shares, respondents),
    })
