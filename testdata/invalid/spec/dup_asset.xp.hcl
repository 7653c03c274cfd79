text "a" { prompt = "x" }
text "a" { prompt = "y" } # ERROR: Duplicate asset
