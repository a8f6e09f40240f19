CREATE INDEX `candidates_front_o0_idx` ON `candidates` (`search_id`,`o0`) WHERE "candidates"."on_front" = 1;--> statement-breakpoint
CREATE INDEX `candidates_front_o1_idx` ON `candidates` (`search_id`,`o1`) WHERE "candidates"."on_front" = 1;--> statement-breakpoint
CREATE INDEX `candidates_front_o2_idx` ON `candidates` (`search_id`,`o2`) WHERE "candidates"."on_front" = 1;--> statement-breakpoint
CREATE INDEX `candidates_front_o3_idx` ON `candidates` (`search_id`,`o3`) WHERE "candidates"."on_front" = 1;