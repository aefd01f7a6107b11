"""The sentence that reports a paired-bootstrap difference of two models on the same resampled test events
(:func:`detcnn.evaluation.bootstrap.paired`): correlated fluctuations cancel, so the difference is far
better measured than either model's value."""

from __future__ import annotations

from collections.abc import Mapping

from detcnn.report.tables import undefined


def sentence(what: str, a: str, b: str, d: Mapping[str, float], digits: int = 4) -> str:
    """One markdown sentence: ``what``: a minus b = value ± err, i.e. so many standard deviations; ``d``:
    ``{value, err, significance}`` and, where some resamples gave no finite difference, ``n_nonfinite`` of
    ``n_bootstrap`` (said after the error)."""
    return (
        f"\n{what}: **{a}** minus **{b}** = {d['value']:+.{digits}f} ± {d['err']:.{digits}f}{undefined(d)} (paired "
        f"bootstrap, the same resampled test events for both), i.e. {d['significance']:.1f} standard deviations.\n"
    )
