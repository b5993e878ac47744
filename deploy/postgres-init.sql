-- The directory and review stores get databases of their own beside the tracker store's.
CREATE DATABASE assistant_directory OWNER assistant;
CREATE DATABASE assistant_review OWNER assistant;
