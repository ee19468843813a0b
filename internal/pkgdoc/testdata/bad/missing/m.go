package missing
