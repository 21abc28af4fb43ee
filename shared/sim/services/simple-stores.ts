import {
  ResourceNotFoundException as SecretNotFound,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { InvalidParameterException, NotFoundException } from '@aws-sdk/client-sns';
import { ParameterAlreadyExists, ParameterNotFound } from '@aws-sdk/client-ssm';
import type { SimAccount } from '../engine.ts';
import { errorMetadata, serviceError } from '../errors.ts';
import { arr, rec, str } from '../paging.ts';
import { registerOperations } from '../registry.ts';

/** Simulated SSM Parameter Store, Secrets Manager and SNS: simple stores. */

interface Parameter {
  Name: string;
  Type: string;
  Value: string;
  Version: number;
  LastModifiedDate: Date;
}

export class SsmState {
  readonly parameters = new Map<string, Parameter>();
  constructor(private readonly sim: SimAccount) {}

  put(name: string, value: string, type = 'String'): void {
    const prev = this.parameters.get(name);
    this.parameters.set(name, {
      Name: name,
      Type: type,
      Value: value,
      Version: (prev?.Version ?? 0) + 1,
      LastModifiedDate: this.sim.clock.now(),
    });
  }
}

export interface PublishedMessage {
  TopicArn: string;
  Subject?: string;
  Message: string;
  MessageAttributes: Record<string, unknown>;
  MessageId: string;
  at: Date;
}

export class SnsState {
  readonly topics = new Set<string>();
  readonly messages: PublishedMessage[] = [];
  constructor(private readonly sim: SimAccount) {}

  createTopic(name: string): string {
    const arn = this.sim.arn('sns', name);
    this.topics.add(arn);
    return arn;
  }
}

interface Secret {
  Name: string;
  ARN: string;
  SecretString: string;
  VersionId: string;
  CreatedDate: Date;
}

export class SecretsState {
  readonly secrets = new Map<string, Secret>();
  constructor(private readonly sim: SimAccount) {}

  put(name: string, value: string | Record<string, unknown>): Secret {
    const prev = this.secrets.get(name);
    const secret: Secret = {
      Name: name,
      ARN: prev?.ARN ?? this.sim.arn('secretsmanager', `secret:${name}-AbCdEf`),
      SecretString: typeof value === 'string' ? value : JSON.stringify(value),
      VersionId: `v${Date.now().toString(36)}${Math.floor(Math.random() * 1e6)}`,
      CreatedDate: this.sim.clock.now(),
    };
    this.secrets.set(name, secret);
    return secret;
  }

  find(id: string | undefined): Secret | undefined {
    if (!id) return undefined;
    for (const s of this.secrets.values()) if (s.Name === id || s.ARN === id) return s;
    return undefined;
  }
}

const meta = errorMetadata;

function parameterView(sim: SimAccount, p: Parameter) {
  return {
    ...p,
    ARN: sim.arn('ssm', `parameter${p.Name.startsWith('/') ? '' : '/'}${p.Name}`),
    DataType: 'text',
  };
}

registerOperations('ssm', {
  GetParameter: (sim, input) => {
    const name = str(input.Name) ?? '';
    const p = sim.ssm.parameters.get(name);
    // SSM API reference, GetParameter errors: ParameterNotFound (the service sends no message text;
    // the simulator names the parameter).
    if (!p) throw new ParameterNotFound({ message: `Parameter ${name} not found.`, $metadata: meta() });
    return { Parameter: parameterView(sim, p) };
  },
  GetParameters: (sim, input) => {
    const names = arr(input.Names).map(String);
    const found = names.map((n) => sim.ssm.parameters.get(n)).filter((p): p is Parameter => p !== undefined);
    return {
      Parameters: found.map((p) => parameterView(sim, p)),
      InvalidParameters: names.filter((n) => !sim.ssm.parameters.has(n)),
    };
  },
  PutParameter: (sim, input) => {
    const name = str(input.Name) ?? '';
    if (sim.ssm.parameters.has(name) && input.Overwrite !== true) {
      // SSM API reference, PutParameter errors: ParameterAlreadyExists.
      throw new ParameterAlreadyExists({
        message:
          'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
        $metadata: meta(),
      });
    }
    sim.ssm.put(
      name,
      str(input.Value) ?? '',
      str(input.Type) ?? sim.ssm.parameters.get(name)?.Type ?? 'String',
    );
    return { Version: sim.ssm.parameters.get(name)?.Version ?? 1, Tier: 'Standard' };
  },
  DeleteParameter: (sim, input) => {
    const name = str(input.Name) ?? '';
    if (!sim.ssm.parameters.delete(name))
      throw new ParameterNotFound({ message: `Parameter ${name} not found.`, $metadata: meta() });
    return {};
  },
});

registerOperations('secretsManager', {
  GetSecretValue: (sim, input) => {
    const s = sim.secrets.find(str(input.SecretId));
    // Secrets Manager API reference, GetSecretValue errors: ResourceNotFoundException, message as returned.
    if (!s)
      throw new SecretNotFound({
        message: "Secrets Manager can't find the specified secret.",
        $metadata: meta(),
      });
    return {
      ARN: s.ARN,
      Name: s.Name,
      SecretString: s.SecretString,
      VersionId: s.VersionId,
      VersionStages: ['AWSCURRENT'],
      CreatedDate: s.CreatedDate,
    };
  },
  PutSecretValue: (sim, input) => {
    const existing = sim.secrets.find(str(input.SecretId));
    if (!existing)
      throw new SecretNotFound({
        message: "Secrets Manager can't find the specified secret.",
        $metadata: meta(),
      });
    const s = sim.secrets.put(existing.Name, str(input.SecretString) ?? '');
    return { ARN: s.ARN, Name: s.Name, VersionId: s.VersionId, VersionStages: ['AWSCURRENT'] };
  },
  CreateSecret: (sim, input) => {
    const name = str(input.Name) ?? '';
    // Secrets Manager API reference, CreateSecret errors: ResourceExistsException.
    if (sim.secrets.find(name)) {
      throw serviceError(
        SecretsManagerServiceException,
        'ResourceExistsException',
        `The operation failed because the secret ${name} already exists.`,
      );
    }
    const s = sim.secrets.put(name, str(input.SecretString) ?? '');
    return { ARN: s.ARN, Name: s.Name, VersionId: s.VersionId };
  },
});

registerOperations('sns', {
  CreateTopic: (sim, input) => ({ TopicArn: sim.sns.createTopic(str(input.Name) ?? 'topic') }),
  Publish: (sim, input) => {
    const topic = str(input.TopicArn) ?? '';
    // SNS API reference, Publish errors: NotFound ("Topic does not exist").
    if (!sim.sns.topics.has(topic))
      throw new NotFoundException({ message: 'Topic does not exist', $metadata: meta() });
    const subject = str(input.Subject);
    // SNS API reference, Publish: Subject must be ASCII, no line breaks, under 100 characters.
    if (subject !== undefined && (subject.length >= 100 || /[\r\n]/.test(subject) || subject.trim() === '')) {
      throw new InvalidParameterException({ message: 'Invalid parameter: Subject', $metadata: meta() });
    }
    const message = str(input.Message) ?? '';
    // SNS API reference, Publish: Message up to 256 KB.
    if (message.length === 0 || Buffer.byteLength(message) > 262_144) {
      throw new InvalidParameterException({
        message: 'Invalid parameter: Message too long or empty',
        $metadata: meta(),
      });
    }
    const id = `sim-msg-${sim.sns.messages.length + 1}`;
    sim.sns.messages.push({
      TopicArn: topic,
      Subject: subject,
      Message: message,
      MessageAttributes: rec(input.MessageAttributes),
      MessageId: id,
      at: sim.clock.now(),
    });
    return { MessageId: id };
  },
});
