"""Thank-you gifts: campaigns, issuing, the respondent's pages, claim and redemption."""
