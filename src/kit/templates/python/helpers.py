# ---- kit helpers: the same in every starter; do not edit -----------------------------
# The grader runs this one file with nothing beside it (its sandbox has no files), so
# the helpers live here rather than in a module to import.


def vector(value):
    """A `vec` input as a 1-D float array ("inf", "-inf", "nan" become those floats)."""
    return np.asarray(value, dtype=float)


def matrix(value):
    """A `mat` input as a 2-D float array, rows × columns (0 × 0 when it is empty)."""
    m = np.asarray(value, dtype=float)
    return m.reshape(0, 0) if m.size == 0 and m.ndim == 1 else m


def output(**fields):
    """Prints the outputs as the one JSON object the grader reads: output(z=z, p=p).
    numpy arrays and numbers become JSON lists and numbers, and non-finite floats the
    strings "inf", "-inf" and "nan", as the course asks."""
    plain = {name: _plain(value) for name, value in fields.items()}
    json.dump(plain, sys.stdout, allow_nan=False)
    print()


def _plain(value):
    if isinstance(value, (np.ndarray, np.generic)):
        value = value.tolist()
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# ---- end of kit helpers --------------------------------------------------------------
