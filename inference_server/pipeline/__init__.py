"""Edit pipelines: numpy images and masks in, an edited patch and the masks used out."""
