"""Chinese text rules, beside the extraction pipeline that uses them.

charsets (decoding bytes without mojibake), chinese (Traditional/Simplified, pinyin glosses),
cleanup (furniture lines), metadata (dates, titles, issuers), classify (region, place, report
type and year, with its gazetteer tables) and normalize (the form compared for changes).
Imports nothing of ours outside this package.
"""
