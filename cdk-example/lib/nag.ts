import { Aspects, CfnResource, IAspect, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';

// cdk-nag's AwsSolutions-IAM5 names each wildcard resource of a policy by a flattened form of it
// (cdk-nag utils/flatten-cfn-reference: Ref -> <Name>, Fn::GetAtt -> <Res.Attr>, Fn::Join joined). The same
// form here lets the library acknowledge exactly the wildcards it means, with the reason of their statement,
// through CDK's own Validations (which cdk-nag reads), without depending on cdk-nag.
function flatten(node: unknown): string {
  if (node === undefined) {
    return '';
  }
  if (typeof node === 'string') {
    return node.replace(/\${/g, '<').replace(/}/g, '>');
  }
  const value = node as Record<string, any>;
  if (value['Fn::Join']) {
    const [delimiter, items] = value['Fn::Join'];
    return (items as unknown[]).map(flatten).join(delimiter);
  }
  if (value['Fn::Sub']) {
    return flatten(value['Fn::Sub']);
  }
  if (value['Fn::GetAtt']) {
    const [resource, attribute] = value['Fn::GetAtt'];
    return `<${flatten(resource)}.${flatten(attribute)}>`;
  }
  if (value['Fn::ImportValue']) {
    return flatten(value['Fn::ImportValue']);
  }
  if (value.Ref) {
    return `<${flatten(value.Ref)}>`;
  }
  return JSON.stringify(node);
}

/**
 * At synthesis (when every statement has its final resources), acknowledges AwsSolutions-IAM5 for each
 * wildcard resource of `policy`'s statements whose Sid is in `reasons`, with that reason. Wildcards of other
 * statements stay findings.
 */
export function acknowledgeWildcardResources(policy: iam.Policy, reasons: Record<string, string>): void {
  const aspect: IAspect = {
    visit(node: IConstruct): void {
      if (node !== policy.node.defaultChild) {
        return;
      }
      const document = Stack.of(policy).resolve((node as iam.CfnPolicy).policyDocument);
      for (const statement of document.Statement ?? []) {
        const reason = statement.Sid === undefined ? undefined : reasons[statement.Sid];
        if (statement.Effect !== 'Allow' || reason === undefined) {
          continue;
        }
        const resources: unknown[] = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
        for (const resource of resources.map(flatten).filter((r) => r.includes('*'))) {
          Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[Resource::${resource}]`, reason });
        }
      }
    },
  };
  Aspects.of(policy).add(aspect);
}

/** Acknowledges a cdk-nag rule on one resource, with its reason. */
export function acknowledge(resource: CfnResource | IConstruct, id: string, reason: string): void {
  Validations.of(resource).acknowledge({ id, reason });
}
