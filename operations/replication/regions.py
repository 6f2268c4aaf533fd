"""A small bundled list of regencies and cities (kabupaten/kota) with their BPS codes, for the
replication request form's region picker (Jawa Barat and a few others; the API accepts any
well-formed BPS code)."""

from __future__ import annotations

REGIONS: tuple[tuple[str, str], ...] = (
    ("32.01", "Kabupaten Bogor"),
    ("32.02", "Kabupaten Sukabumi"),
    ("32.03", "Kabupaten Cianjur"),
    ("32.04", "Kabupaten Bandung"),
    ("32.05", "Kabupaten Garut"),
    ("32.06", "Kabupaten Tasikmalaya"),
    ("32.07", "Kabupaten Ciamis"),
    ("32.08", "Kabupaten Kuningan"),
    ("32.09", "Kabupaten Cirebon"),
    ("32.10", "Kabupaten Majalengka"),
    ("32.11", "Kabupaten Sumedang"),
    ("32.12", "Kabupaten Indramayu"),
    ("32.13", "Kabupaten Subang"),
    ("32.14", "Kabupaten Purwakarta"),
    ("32.15", "Kabupaten Karawang"),
    ("32.16", "Kabupaten Bekasi"),
    ("32.17", "Kabupaten Bandung Barat"),
    ("32.18", "Kabupaten Pangandaran"),
    ("32.71", "Kota Bogor"),
    ("32.72", "Kota Sukabumi"),
    ("32.73", "Kota Bandung"),
    ("32.74", "Kota Cirebon"),
    ("32.75", "Kota Bekasi"),
    ("32.76", "Kota Depok"),
    ("32.77", "Kota Cimahi"),
    ("32.78", "Kota Tasikmalaya"),
    ("32.79", "Kota Banjar"),
    ("31.71", "Kota Administrasi Jakarta Selatan"),
    ("33.74", "Kota Semarang"),
    ("34.71", "Kota Yogyakarta"),
    ("35.78", "Kota Surabaya"),
    ("36.71", "Kota Tangerang"),
    ("51.71", "Kota Denpasar"),
    ("73.71", "Kota Makassar"),
)
NAMES = dict(REGIONS)
