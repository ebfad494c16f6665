"""The ferry (网闸/光闸, or a disc): store-and-forward over files, one way in each direction."""
