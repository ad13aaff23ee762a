"""The counter inside the loop: the member code a shopper shows, and till sales recorded with it."""
