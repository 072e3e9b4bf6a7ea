CREATE TABLE `consumer_offsets` (
	`group_id` text NOT NULL,
	`topic` text NOT NULL,
	`partition` integer NOT NULL,
	`committed_offset` integer NOT NULL,
	`metadata` text DEFAULT '' NOT NULL,
	`commit_timestamp` integer NOT NULL,
	PRIMARY KEY(`group_id`, `topic`, `partition`)
);
--> statement-breakpoint
CREATE TABLE `producer_ids` (
	`producer_id` integer PRIMARY KEY NOT NULL,
	`producer_epoch` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `topic_configs` (
	`topic` text NOT NULL,
	`key` text NOT NULL,
	`value` text NOT NULL,
	PRIMARY KEY(`topic`, `key`)
);
--> statement-breakpoint
CREATE TABLE `topics` (
	`name` text PRIMARY KEY NOT NULL,
	`topic_id` text NOT NULL,
	`partitions` integer NOT NULL,
	`replication_factor` integer NOT NULL,
	`created_at` integer NOT NULL
);
