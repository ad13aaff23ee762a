"""The join -> first paid order -> shared -> a friend bound -> a friend paid funnel, from its daily rollup."""
