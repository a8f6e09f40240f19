CREATE TABLE `candidates` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`search_id` integer NOT NULL,
	`key` text NOT NULL,
	`genome` text NOT NULL,
	`subnet` text NOT NULL,
	`generation` integer NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`objectives` text,
	`o0` real,
	`o1` real,
	`o2` real,
	`o3` real,
	`constraint_violation` real,
	`on_front` integer DEFAULT 0 NOT NULL,
	`metrics` text,
	`eval_ms` real,
	`device` text,
	`error` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`search_id`) REFERENCES `searches`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "candidates_status_check" CHECK("candidates"."status" IN ('pending','running','done','failed')),
	CONSTRAINT "candidates_front_check" CHECK("candidates"."on_front" IN (0, 1))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `candidates_search_key_idx` ON `candidates` (`search_id`,`key`);--> statement-breakpoint
CREATE INDEX `candidates_search_status_idx` ON `candidates` (`search_id`,`status`);--> statement-breakpoint
CREATE INDEX `candidates_search_front_idx` ON `candidates` (`search_id`,`on_front`);--> statement-breakpoint
CREATE INDEX `candidates_search_o0_idx` ON `candidates` (`search_id`,`o0`);--> statement-breakpoint
CREATE INDEX `candidates_search_o1_idx` ON `candidates` (`search_id`,`o1`);--> statement-breakpoint
CREATE INDEX `candidates_search_o2_idx` ON `candidates` (`search_id`,`o2`);--> statement-breakpoint
CREATE INDEX `candidates_search_o3_idx` ON `candidates` (`search_id`,`o3`);--> statement-breakpoint
CREATE INDEX `candidates_search_generation_idx` ON `candidates` (`search_id`,`generation`);--> statement-breakpoint
CREATE TABLE `checkpoints` (
	`search_id` integer PRIMARY KEY NOT NULL,
	`generation` integer NOT NULL,
	`evaluations` integer NOT NULL,
	`state` text NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`search_id`) REFERENCES `searches`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `searches` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`model_path` text NOT NULL,
	`model_hash` text NOT NULL,
	`space` text NOT NULL,
	`space_hash` text NOT NULL,
	`objectives` text NOT NULL,
	`algorithm` text NOT NULL,
	`options` text NOT NULL,
	`seed` integer NOT NULL,
	`evaluator` text NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`error` text,
	`owner` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	CONSTRAINT "searches_status_check" CHECK("searches"."status" IN ('pending','running','paused','interrupted','done','failed'))
);
--> statement-breakpoint
CREATE INDEX `searches_status_idx` ON `searches` (`status`,`id`);