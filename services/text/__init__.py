"""Chinese text understanding shared by the features: normalisation, intent (question, request, chit-chat), tone."""
