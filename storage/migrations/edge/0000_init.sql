CREATE TABLE `client_producers` (
	`producer_id` integer PRIMARY KEY NOT NULL,
	`producer_epoch` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `edge_state` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `ship_state` (
	`topic` text NOT NULL,
	`partition` integer NOT NULL,
	`next_offset` integer NOT NULL,
	`next_sequence` integer NOT NULL,
	`inflight_from` integer,
	`inflight_to` integer,
	`inflight_sequence` integer,
	PRIMARY KEY(`topic`, `partition`)
);
--> statement-breakpoint
CREATE TABLE `shipped_batches` (
	`topic` text NOT NULL,
	`partition` integer NOT NULL,
	`outbox_base` integer NOT NULL,
	`outbox_end` integer NOT NULL,
	`regional_base` integer NOT NULL,
	PRIMARY KEY(`topic`, `partition`, `outbox_base`)
);
--> statement-breakpoint
CREATE TABLE `upstream_partitions` (
	`topic` text NOT NULL,
	`partition` integer NOT NULL,
	`leader` text NOT NULL,
	`leader_epoch` integer NOT NULL,
	`log_start_offset` integer NOT NULL,
	`high_watermark` integer NOT NULL,
	PRIMARY KEY(`topic`, `partition`)
);
--> statement-breakpoint
CREATE TABLE `upstream_topics` (
	`name` text PRIMARY KEY NOT NULL,
	`topic_id` text NOT NULL,
	`partitions` integer NOT NULL,
	`config` text NOT NULL,
	`described_at` integer NOT NULL
);
