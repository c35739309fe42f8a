// The one interface every engine implements; the HTTP layer knows nothing else about engines.

export type EngineName = 'dummy' | 'llama_cpp' | 'openai-proxy';
export type FinishReason = 'stop' | 'length';

export interface ChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  content: string;
}

export interface GenerateParams {
  model: string;
  /** Exactly one of `messages` (chat) and `prompt` (completion). */
  messages?: ChatMessage[];
  prompt?: string;
  maxTokens: number;
  temperature?: number;
  topP?: number;
  seed?: number;
  stop: string[];
  presencePenalty?: number;
  frequencyPenalty?: number;
  /** A JSON schema the output must follow ('object' = any JSON object), when the engine can enforce it. */
  jsonSchema?: Record<string, unknown> | 'object';
  signal: AbortSignal;
  /** Called with each new piece of text, in order, as it is generated. */
  onText(text: string): void;
}

export interface GenerateResult {
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  completionTokens: number;
}

export interface ModelCard {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

export interface EngineCapabilities {
  /** `response_format` json_schema / json_object can be enforced. */
  jsonSchema: boolean;
}

export interface Engine {
  readonly name: EngineName;
  /** What the engine serves as (`vllm` and `mlx` are the openai-proxy engine in front of their servers). */
  readonly label: string;
  readonly capabilities: EngineCapabilities;
  load(): Promise<void>;
  models(): ModelCard[];
  generate(params: GenerateParams): Promise<GenerateResult>;
  /** Engine-specific facts for /v1/system/status. */
  status(): Record<string, unknown>;
  close(): Promise<void>;
}
