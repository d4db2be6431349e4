"""Chinese text rules, beside the extraction pipeline that uses them.

charsets (decoding bytes without mojibake), chinese (Traditional/Simplified, pinyin glosses),
cleanup (furniture lines), metadata (dates, titles, issuers), classify (region, place, report
type and year, with its gazetteer tables), normalize (the form compared for changes), files
(the text of PDF, Word, WPS, OFD and spreadsheet attachments) and layout (fixed-layout pages
as paragraphs).
Imports nothing of ours outside this package.
"""
