"""Case 11: α-Rank against OpenSpiel's ``alpharank`` (issue 22).

Same games, same run: seeded N(0, 1) games with 2 to 4 players, 100 to 2,500 pure
profiles, ranked with one population per player (``m = 50``) at one fixed ``α = 8``:

* ours: ``alpha_rank(game, AlphaRankOptions(alpha=8, populations="multi"))`` (the chain, its
  sink components and the stationary distribution by GTH elimination, with its residual);
* OpenSpiel 2.0: ``open_spiel.python.egt.alpharank.compute(payoffs, m=50, alpha=8)`` on the
  same payoffs mapped onto [0, 1] per player (the chain and a dense eigenvector solve);
* ours with the default sweep to the large-α limit, for information (OpenSpiel has none).

The two are timed together, their samples interleaved (``measure_together``). *agree*
is the largest difference of a profile's mass between the two answers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.games import seed_for
from bench.report import CaseResult, Row
from bench.timing import measure_together

__all__ = ["case11"]

#: The fixed selection intensity of the comparison (where OpenSpiel's eigenvector solve still
#: separates the sinks: past about 10 it can return a mixture).
ALPHA = 8.0
POPULATION = 50


def _game(shape: tuple[int, ...]) -> np.ndarray:
    rng = np.random.default_rng(seed_for("case11", *shape))
    return rng.standard_normal(shape)


def case11(cfg: Any, worker: Any) -> CaseResult:
    """α-Rank at one α against OpenSpiel, and our sweep."""
    result = CaseResult("11", "alpha-Rank against OpenSpiel")
    try:
        from open_spiel.python.egt import alpharank, utils
    except ImportError:
        result.notes.append(
            "open-spiel is not installed here: pip install 'equilibria[test]' (then --cases 11)"
        )
        return result
    from equilibria.solver import AlphaRankOptions, NormalFormGame
    from equilibria.solver.concepts.alpha_rank import alpha_rank

    shapes = [(2, 10, 10), (3, 6, 6, 6), (2, 30, 30)]
    if not cfg.quick:
        shapes += [(4, 6, 6, 6, 6), (2, 50, 50)]
    fixed = AlphaRankOptions(alpha=ALPHA, population_size=POPULATION, populations="multi")
    swept = AlphaRankOptions(population_size=POPULATION, populations="multi")
    alpha_rank(NormalFormGame(np.ones((2, 2, 2))), fixed)  # compile (or load) the kernel first
    for shape in shapes:
        game = NormalFormGame(_game(shape))
        unit = list(game.unit_game.payoffs)
        profiles = int(np.prod(shape[1:]))
        size = "x".join(str(k) for k in shape[1:])

        def ours(game: NormalFormGame = game) -> Any:
            return alpha_rank(game, fixed)

        def theirs(unit: list = unit) -> Any:
            return alpharank.compute(unit, m=POPULATION, alpha=ALPHA)

        (our_timing, ranked), (their_timing, answer) = measure_together([ours, theirs], budget=cfg.budget)
        counts = np.array(shape[1:])
        pi = answer[2]
        theirs_by_profile = {
            tuple(int(i) for i in utils.get_strat_profile_from_id(counts, k)): float(p)
            for k, p in enumerate(pi)
        }
        agree = max(
            abs(m - theirs_by_profile[p]) for p, m in zip(ranked.profiles, ranked.masses, strict=True)
        )
        anchor = Row("11", "standard_normal", size, profiles, "openspiel alpharank", "anchor", their_timing)
        row = Row("11", "standard_normal", size, profiles, f"ours alpha={ALPHA:g}", "ours", our_timing)
        row.value = agree
        row.note = f"agree {agree:.1e}, residual {ranked.residual:.1e}"
        if our_timing.ok and their_timing.ok:
            row.ratio = our_timing.median / their_timing.median
            row.ratio_text = f"{row.ratio:.2f}x"
        (sweep_timing, sweep), *_ = measure_together(
            [lambda game=game: alpha_rank(game, swept)], budget=cfg.budget
        )
        info = Row("11", "standard_normal", size, profiles, "ours sweep", "ours", sweep_timing)
        info.note = f"alpha {sweep.alpha:g} ({sweep.ended_by}), {len(sweep.sweep)} steps"
        result.rows += [anchor, row, info]
        print(
            f"  [11] {size}: ours {our_timing.median:.3g} s, openspiel {their_timing.median:.3g} s "
            f"({row.ratio_text}), agree {agree:.1e}; sweep {sweep_timing.median:.3g} s ({info.note})",
            flush=True,
        )
    result.notes += [
        f"ours = alpha_rank(game, AlphaRankOptions(alpha={ALPHA:g}, population_size={POPULATION}, "
        "populations='multi')); openspiel = open_spiel.python.egt.alpharank.compute(unit payoffs, "
        f"m={POPULATION}, alpha={ALPHA:g}); both in-process, samples interleaved.",
        "ratio = ours / openspiel; agree = largest |mass difference| of a profile; 'ours sweep' = the default "
        "sweep to the large-alpha limit (alpha doubled from 1), for information.",
    ]
    return result
