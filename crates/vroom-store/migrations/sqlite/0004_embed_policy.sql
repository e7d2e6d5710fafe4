-- Which sites may frame an app's meeting page (CSP frame-ancestors sources, a JSON array);
-- NULL lets any site embed it.
ALTER TABLE apps ADD COLUMN embed_frame_ancestors TEXT;
